// The IMAGES argument of the representation commands: dataset rows, rows of an .npy batch, or image files/folders.
import { readdir, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { type Tensor, formatShape, tensor } from "../../ir/tensor.js";
import type { Dataset } from "../../data/dataset.js";
import { loadDataset } from "../../data/node/load.js";
import { loadNpy } from "../../data/node/npy-file.js";
import { fsReason } from "../../data/node/read.js";
import { imagesToFloat } from "../../data/npy.js";
import { parseDataSpec } from "../../data/spec.js";
import { resizeBatch } from "../grid.js";
import { readImageFile } from "./png.js";

export interface ImageSet {
  /** [N,C,H,W] in [0,1], already resized/converted to `to`. */
  x: Tensor<"float32">;
  /** Dataset labels when known. */
  labels?: Int32Array;
  /** One caption per image, e.g. "fashion-mnist#12 Ankle boot", "cat.png". */
  names: string[];
  classes?: string[];
}

export interface LoadImagesOptions {
  /** Dataset split (default "test"); npy files and image files ignore it. */
  split?: "train" | "test";
  /** Keep at most this many images (the first ones); without it, more than MAX_IMAGES is an error. */
  limit?: number;
}

const MAX_IMAGES = 100000;
/** The float32 batch of the selected images must fit in this many bytes (a count alone does not bound 224×224 RGB). */
const MAX_BYTES = 2 ** 31;

const DATASET_KINDS = /^(mnist|fashion-mnist|cifar10|folder|npy)(:|\?|$)/;
const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg"]);
const PARALLEL = 8;

type Size = { channels: 1 | 3; height: number; width: number };

/**
 * Loads IMAGES as a batch shaped for a model taking `to`. Grammar, tried in order:
 * `SPEC[:INDICES]` for a dataset spec (see parseDataSpec), `X.npy[:INDICES]`, else `FILE_OR_DIR[,FILE_OR_DIR...]`.
 */
export async function loadImages(arg: string, to: Size, o: LoadImagesOptions = {}): Promise<ImageSet> {
  const bad = (why: string): never => {
    throw new Error(`IMAGES "${arg}": ${why}`);
  };
  if (o.limit !== undefined && !(Number.isSafeInteger(o.limit) && o.limit >= 1)) bad(`limit must be a positive integer, got ${o.limit}`);
  const { source, indices } = splitIndices(arg, bad);
  // Picks rows (explicit indices, else all), then applies the cap, before any pixel is converted or decoded.
  const pick = (size: number, what: string): number[] => {
    const rows = indices ?? Array.from({ length: size }, (_, i) => i);
    for (const i of rows) if (i >= size) bad(`index ${i} is out of range: ${what} has ${size} images (0..${size - 1})`);
    const out = o.limit !== undefined ? rows.slice(0, o.limit) : rows;
    if (o.limit === undefined && rows.length > MAX_IMAGES)
      bad(`${rows.length} images is more than ${MAX_IMAGES}; select some with :INDICES or pass a limit`);
    const bytes = out.length * to.channels * to.height * to.width * 4;
    if (bytes > MAX_BYTES)
      bad(
        `${out.length} images of ${to.channels}×${to.height}×${to.width} need ${(bytes / 2 ** 30).toFixed(1)} GiB, more than ${MAX_BYTES / 2 ** 30} GiB; select fewer with :INDICES or a limit`,
      );
    return out;
  };
  let set: ImageSet;
  if (DATASET_KINDS.test(source)) set = await fromDataset(source, to, o.split ?? "test", pick);
  else if (extname(source).toLowerCase() === ".npy" && !source.includes(",")) set = await fromNpy(source, to, pick);
  else set = await fromFiles(source, to, pick, bad);
  if (set.names.length === 0) bad("no images");
  return set;
}

/**
 * Splits a trailing `:INDICES` off. A last `:` segment made only of digits, commas and dashes is always indices
 * (and must then be well formed: `i` or `i-j`, comma separated), so `mnist:DIR` still works for any DIR not made
 * only of those characters; `mnist:2024` is indices 2024 of the default MNIST, not a directory named 2024.
 */
function splitIndices(arg: string, bad: (why: string) => never): { source: string; indices?: number[] } {
  const colon = arg.lastIndexOf(":");
  const tail = colon >= 0 ? arg.slice(colon + 1) : "";
  if (!/^[\d,-]+$/.test(tail)) return { source: arg };
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(tail)) bad(`bad indices "${tail}" (expected a comma list of i or i-j, e.g. 0-9 or 3,5,7-9)`);
  const indices: number[] = [];
  for (const part of tail.split(",")) {
    const [a, b] = part.split("-").map(Number) as [number, number | undefined];
    const end = b ?? a;
    if (end < a) bad(`bad index range "${part}" (the end is before the start)`);
    if (!Number.isSafeInteger(end) || indices.length + end - a + 1 > MAX_IMAGES)
      bad(`indices "${tail}" select more than ${MAX_IMAGES} images`);
    for (let i = a; i <= end; i++) indices.push(i);
  }
  return { source: arg.slice(0, colon), indices };
}

async function fromDataset(
  spec: string,
  to: Size,
  split: "train" | "test",
  pick: (n: number, what: string) => number[],
): Promise<ImageSet> {
  const s = parseDataSpec(spec);
  // An image folder decodes straight to the model's size when the spec leaves size and channels open (one resampling, not two).
  const direct = s.kind === "folder" && s.options.size === undefined && s.options.channels === undefined && to.height === to.width;
  const ds = await loadDataset(direct ? `${spec}${spec.includes("?") ? "&" : "?"}size=${to.height}&channels=${to.channels}` : spec, split);
  const rows = pick(ds.size, `${spec} (${split})`);
  return {
    x: resizeBatch(rowsToFloat(ds, rows), to),
    labels: Int32Array.from(rows, (r) => ds.labels[r]!),
    names: rows.map((r) => `${s.kind}#${r} ${ds.classes[ds.labels[r]!]}`),
    classes: ds.classes,
  };
}

/** Dataset rows as [n,C,H,W] floats in [0,1] (bytes divided by 255, as dataset batches do). */
function rowsToFloat(ds: Dataset, rows: readonly number[]): Tensor<"float32"> {
  const [c, h, w] = ds.shape;
  const per = c * h * w;
  const out = new Float32Array(rows.length * per);
  const scale = ds.images instanceof Uint8Array;
  for (const [i, r] of rows.entries()) {
    const src = ds.images.subarray(r * per, (r + 1) * per);
    if (scale) for (let k = 0; k < per; k++) out[i * per + k] = src[k]! / 255;
    else out.set(src, i * per);
  }
  return tensor("float32", [rows.length, c, h, w], out);
}

async function fromNpy(path: string, to: Size, pick: (n: number, what: string) => number[]): Promise<ImageSet> {
  const raw = await loadNpy(path);
  if (raw.shape.length !== 4) throw new Error(`${path}: images must be NCHW (4-D), got shape ${formatShape(raw.shape)}`);
  if (raw.dtype !== "uint8" && raw.dtype !== "float32" && raw.dtype !== "float64") {
    throw new Error(`${path}: images must be uint8, float32 or float64, got ${raw.dtype} ${formatShape(raw.shape)}`);
  }
  const [n, c, h, w] = raw.shape as [number, number, number, number];
  const rows = pick(n, path);
  const per = c * h * w;
  // Select rows first, so a few images out of a large file are all that gets converted.
  const src = raw.data as Uint8Array | Float32Array | Float64Array;
  const sel = new (src.constructor as Uint8ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor)(rows.length * per);
  for (const [i, r] of rows.entries()) sel.set(src.subarray(r * per, (r + 1) * per), i * per);
  const x = imagesToFloat(tensor(raw.dtype, [rows.length, c, h, w], sel), path);
  const name = basename(path);
  return { x: resizeBatch(x, to), names: rows.map((r) => `${name}#${r}`) };
}

async function fromFiles(
  list: string,
  to: Size,
  pick: (n: number, what: string) => number[],
  bad: (why: string) => never,
): Promise<ImageSet> {
  const files: string[] = [];
  for (const item of list.split(",").filter(Boolean)) {
    let isDir: boolean;
    try {
      isDir = (await stat(item)).isDirectory();
    } catch (e) {
      throw new Error(`${item}: ${fsReason(e)}`);
    }
    if (isDir) files.push(...(await imagesIn(item)));
    else files.push(item);
  }
  if (files.length === 0) bad("no images");
  const rows = pick(files.length, `the file list`);
  const per = to.channels * to.height * to.width;
  const x = new Float32Array(rows.length * per);
  for (let i = 0; i < rows.length; i += PARALLEL) {
    await Promise.all(rows.slice(i, i + PARALLEL).map(async (r, k) => x.set(await readImageFile(files[r]!, to), (i + k) * per)));
  }
  return { x: tensor("float32", [rows.length, to.channels, to.height, to.width], x), names: rows.map((r) => basename(files[r]!)) };
}

/** A folder's PNG/JPEG files, sorted by name; hidden files and subfolders are skipped. */
async function imagesIn(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`${dir}: ${fsReason(e)}`);
  }
  const names = entries
    .filter((e) => e.isFile() && !e.name.startsWith(".") && IMAGE_EXT.has(extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) throw new Error(`${dir}: no PNG or JPEG images in this folder`);
  return names.map((n) => join(dir, n));
}
