// In-memory labelled image datasets (NCHW) and deterministic, resumable, augmented batches — browser-safe.
import { type Tensor, tensor } from "../ir/tensor.js";
import { Rng } from "../util/rng.js";
import { type Augment, augmentImage } from "./augment.js";

export interface Norm {
  mean: number[];
  std: number[];
}

export interface Dataset {
  /** What it was loaded from, for messages and model metadata (e.g. "cifar10:/data/cifar (train)"). */
  name: string;
  classes: string[];
  /** Per-example shape [C, H, W]. */
  shape: [number, number, number];
  size: number;
  /** N·C·H·W pixels, NCHW: uint8 0..255, or float32 already in [0,1]. */
  images: Uint8Array | Float32Array;
  /** N class indices in [0, classes.length). */
  labels: Int32Array;
  /** Per-channel mean/std of [0,1] pixels, for the normalization layer inside the model graph. */
  norm: Norm;
  /** Whether a left-right flip keeps the class (used as the default of `augment.flip`). */
  hflip: boolean;
}

export interface BatchOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  epoch?: number;
  augment?: Augment;
  /** Skip a last partial batch (training wants equal-sized batches). */
  dropLast?: boolean;
  /** First batch to yield, to resume mid-epoch with the same order and augmentation. */
  from?: number;
}

export interface Batch {
  /** Pixels in [0,1], [B, C, H, W]. */
  x: Tensor<"float32">;
  y: Tensor<"int64">;
  /** Dataset rows of this batch's examples. */
  indices: Int32Array;
  /** Position of the batch in the epoch. */
  index: number;
}

/** Checks sizes and label range; every reader ends here, so a bad file fails once, with its name. */
export function makeDataset(d: Dataset): Dataset {
  const [c, h, w] = d.shape;
  const per = c * h * w;
  const where = d.name;
  if (![c, h, w, d.size].every((v) => Number.isSafeInteger(v) && v >= 0) || per === 0)
    throw new Error(`${where}: bad example shape [${d.shape.join(",")}]`);
  if (d.images.length !== d.size * per)
    throw new Error(`${where}: ${d.images.length} pixels are not ${d.size} images of [${d.shape.join(",")}]`);
  if (d.labels.length !== d.size) throw new Error(`${where}: ${d.labels.length} labels for ${d.size} images`);
  if (d.classes.length === 0) throw new Error(`${where}: no classes`);
  for (let i = 0; i < d.size; i++) {
    const y = d.labels[i]!;
    if (y < 0 || y >= d.classes.length) throw new Error(`${where}: label ${y} of example ${i} is outside 0..${d.classes.length - 1}`);
  }
  if (d.images instanceof Float32Array) {
    for (let i = 0; i < d.images.length; i++)
      if (!Number.isFinite(d.images[i]!)) throw new Error(`${where}: pixel ${i} is ${d.images[i]}; images must be finite`);
  }
  if (d.norm.mean.length !== c || d.norm.std.length !== c)
    throw new Error(`${where}: normalization has ${d.norm.mean.length} means and ${d.norm.std.length} stds for ${c} channels`);
  return d;
}

/** The examples at `rows`, in that order (a copy). */
export function subset(ds: Dataset, rows: ArrayLike<number>, name = ds.name): Dataset {
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const images = new (ds.images.constructor as Uint8ArrayConstructor | Float32ArrayConstructor)(rows.length * per);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!(r >= 0 && r < ds.size)) throw new Error(`${ds.name}: row ${r} is outside 0..${ds.size - 1}`);
    images.set(ds.images.subarray(r * per, (r + 1) * per), i * per);
    labels[i] = ds.labels[r]!;
  }
  return { ...ds, name, size: rows.length, images, labels };
}

/** The first n examples (all when n ≥ size). */
export function take(ds: Dataset, n: number): Dataset {
  if (n >= ds.size) return ds;
  return subset(
    ds,
    Array.from({ length: n }, (_, i) => i),
    `${ds.name}[:${n}]`,
  );
}

/**
 * Splits off a held-out fraction with a seeded permutation; the same (size, fraction, seed) always gives the same
 * disjoint halves, so loading "train" and "test" separately never overlaps.
 */
export function holdout(ds: Dataset, fraction: number, split: "train" | "test", seed = 0): Dataset {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`${ds.name}: holdout fraction must be in (0,1), got ${fraction}`);
  const order = permutation(ds.size, new Rng(mixSeed(seed, ds.size)));
  const nTest = Math.max(1, Math.round(fraction * ds.size));
  const rows = split === "test" ? order.subarray(0, nTest) : order.subarray(nTest);
  return subset(ds, Int32Array.from(rows).sort(), `${ds.name} (${split}, holdout ${fraction})`);
}

/** Per-channel mean and standard deviation of the pixels in [0,1] (for datasets without published constants). */
export function channelStats(images: Uint8Array | Float32Array, shape: readonly [number, number, number]): Norm {
  const [c, h, w] = shape;
  const hw = h * w;
  const n = images.length / (c * hw);
  const scale = images instanceof Uint8Array ? 1 / 255 : 1;
  const mean: number[] = [],
    std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0,
      s2 = 0;
    for (let i = 0; i < n; i++) {
      const off = (i * c + ch) * hw;
      for (let k = 0; k < hw; k++) {
        const v = images[off + k]! * scale;
        s += v;
        s2 += v * v;
      }
    }
    const count = Math.max(1, n * hw);
    const m = s / count;
    mean.push(m);
    // A constant channel would divide by zero inside the model: keep std at 1 there.
    const sd = Math.sqrt(Math.max(0, s2 / count - m * m));
    std.push(sd > 1e-6 ? sd : 1);
  }
  return { mean, std };
}

/** Mixes integers into one 32-bit seed (so (seed, epoch, example) pairs give unrelated streams). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    // Both 32-bit halves, so seeds beyond 2^32 and negative seeds still count.
    for (const word of [p >>> 0, Math.floor(p / 4294967296) >>> 0]) {
      h = Math.imul(h ^ word, 0x01000193);
      h ^= h >>> 15;
      h = Math.imul(h, 0x2c1b3c6d);
      h ^= h >>> 12;
    }
  }
  return h >>> 0;
}

function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Example order of one epoch: identity, or a permutation fixed by (seed, epoch). */
export function epochOrder(size: number, o: { shuffle?: boolean; seed?: number; epoch?: number }): Int32Array {
  if (!o.shuffle) return Int32Array.from({ length: size }, (_, i) => i);
  return permutation(size, new Rng(mixSeed(o.seed ?? 0, o.epoch ?? 0, 1)));
}

/** Number of batches `batches(ds, o)` yields in a whole epoch. */
export function batchCount(size: number, o: { batchSize: number; dropLast?: boolean }): number {
  return o.dropLast ? Math.floor(size / o.batchSize) : Math.ceil(size / o.batchSize);
}

/**
 * Yields an epoch's batches. Everything (order, crops, flips) is a function of (seed, epoch, position), never of
 * earlier batches, so `from: k` resumes exactly where batch k would have been.
 */
export function* batches(ds: Dataset, o: BatchOptions): Generator<Batch> {
  const bs = o.batchSize;
  if (!Number.isSafeInteger(bs) || bs < 1) throw new Error(`batches: batchSize must be a positive integer, got ${bs}`);
  const aug: Augment = { crop: o.augment?.crop ?? 0, flip: o.augment ? (o.augment.flip ?? ds.hflip) : false };
  if (!Number.isSafeInteger(aug.crop) || aug.crop! < 0)
    throw new Error(`batches: crop padding must be a non-negative integer, got ${aug.crop}`);
  if (aug.flip && !ds.hflip)
    throw new Error(`${ds.name}: horizontal flips change the class of this dataset's images (digits); leave augment.flip unset`);
  const augmenting = aug.crop! > 0 || !!aug.flip;
  const seed = o.seed ?? 0,
    epoch = o.epoch ?? 0;
  const order = epochOrder(ds.size, { shuffle: o.shuffle, seed, epoch });
  const [c, h, w] = ds.shape;
  const per = c * h * w;
  const bytes = ds.images instanceof Uint8Array;
  const scratch = new Float32Array(per);
  const count = batchCount(ds.size, { batchSize: bs, dropLast: o.dropLast });
  for (let b = o.from ?? 0; b < count; b++) {
    const start = b * bs;
    const n = Math.min(bs, ds.size - start);
    const x = new Float32Array(n * per);
    const y = new BigInt64Array(n);
    const indices = order.slice(start, start + n);
    for (let i = 0; i < n; i++) {
      const r = indices[i]!;
      const img = x.subarray(i * per, (i + 1) * per);
      const src = ds.images.subarray(r * per, (r + 1) * per);
      // Divide (not multiply by 1/255) so pixels match imagesToFloat bit for bit.
      if (bytes) for (let k = 0; k < per; k++) img[k] = src[k]! / 255;
      else img.set(src);
      if (augmenting) augmentImage(img, scratch, ds.shape, aug, new Rng(mixSeed(seed, epoch, start + i, 2)));
      y[i] = BigInt(ds.labels[r]!);
    }
    yield { x: tensor("float32", [n, c, h, w], x), y: tensor("int64", [n], y), indices, index: b };
  }
}

/** The whole dataset as two tensors (pixels in [0,1]), for commands that take every example at once. */
export function toTensors(ds: Dataset): { images: Tensor<"float32">; labels: Tensor<"int64"> } {
  const { value } = batches(ds, { batchSize: Math.max(1, ds.size) }).next();
  if (!value) return { images: tensor("float32", [0, ...ds.shape]), labels: tensor("int64", [0]) };
  return { images: value.x, labels: value.y };
}
