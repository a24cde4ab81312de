// CIFAR-10 binary version from a directory (the extracted cifar-10-batches-bin, or its parent).
import { join } from "node:path";
import { CIFAR10_CLASSES, CIFAR10_FILES, DATASET_INFO } from "../catalog.js";
import { CIFAR_RECORD, parseCifarBatch, parseCifarMeta } from "../cifar.js";
import { type Dataset, makeDataset } from "../dataset.js";
import { exists, readDataFile } from "./read.js";

/** A batch file holds 10000 records; more data than that is damage (or a gzip bomb). */
const CIFAR_BATCH_BYTES = 10000 * CIFAR_RECORD;

const HINT = "download and extract cifar-10-binary.tar.gz, or robustlens data fetch cifar10 --dir D";

export async function loadCifar10(dir: string, split: "train" | "test"): Promise<Dataset> {
  if (!(await exists(dir))) throw new Error(`cifar10: no directory ${dir}; ${HINT}`);
  // Accept the archive's top folder too, so cifar10:DIR works whether DIR is where it was extracted or the folder inside.
  const inner = join(dir, "cifar-10-batches-bin");
  const root = !(await exists(join(dir, CIFAR10_FILES.test[0]))) && (await exists(inner)) ? inner : dir;
  const files = CIFAR10_FILES[split];
  for (const f of files) if (!(await exists(join(root, f)))) throw new Error(`cifar10: ${root} has no ${f}; ${HINT}`);
  const parts = await Promise.all(
    files.map(async (f) => parseCifarBatch(await readDataFile(join(root, f), CIFAR_BATCH_BYTES), join(root, f))),
  );
  const n = parts.reduce((a, p) => a + p.labels.length, 0);
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * 3072);
    labels.set(p.labels, at);
    at += p.labels.length;
  }
  const metaPath = join(root, CIFAR10_FILES.meta);
  const classes = (await exists(metaPath))
    ? parseCifarMeta(new TextDecoder().decode(await readDataFile(metaPath, 64 * 1024)), metaPath)
    : [...CIFAR10_CLASSES];
  const info = DATASET_INFO.cifar10;
  return makeDataset({
    name: `cifar10:${dir} (${split})`,
    classes,
    shape: [3, 32, 32],
    size: n,
    images,
    labels,
    norm: info.norm,
    hflip: info.hflip,
  });
}
