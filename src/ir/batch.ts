// Batch helpers: examples are rows along the first axis.
import { type Tensor, tensor } from "./tensor.js";

/** Examples [lo, hi) of a batch, as a view of its data (no copy). */
export function sliceBatch<T extends Tensor>(t: T, lo: number, hi: number): T {
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return tensor(t.dtype, [hi - lo, ...t.shape.slice(1)], t.data.subarray(lo * per, hi * per) as never) as T;
}

/** Joins batches along the first axis. */
export function concatBatch<T extends Tensor>(parts: readonly T[]): T {
  const first = parts[0]!;
  const data = new (first.data.constructor as Float32ArrayConstructor)(parts.reduce((s, p) => s + p.data.length, 0));
  let off = 0;
  for (const p of parts) {
    data.set(p.data as Float32Array, off);
    off += p.data.length;
  }
  const n = parts.reduce((s, p) => s + p.shape[0]!, 0);
  return tensor(first.dtype, [n, ...first.shape.slice(1)], data as never) as T;
}

/** The examples at `idx`, in that order, as a new batch. */
export function pickBatch<T extends Tensor>(x: T, idx: readonly number[]): T {
  const per = x.data.length / x.shape[0]!;
  const data = new (x.data.constructor as Float32ArrayConstructor)(idx.length * per);
  idx.forEach((i, k) => data.set(x.data.subarray(i * per, (i + 1) * per) as Float32Array, k * per));
  return tensor(x.dtype, [idx.length, ...x.shape.slice(1)], data as never) as T;
}

/** Splits [N,...] into rows of at most `cols` examples. */
export function chunkRows<T extends Tensor>(x: T, cols: number): T[] {
  const n = x.shape[0]!,
    out: T[] = [];
  for (let i = 0; i < n; i += cols) out.push(sliceBatch(x, i, Math.min(n, i + cols)));
  return out;
}

/** Interleaves row chunks of several aligned batches: a1 b1 a2 b2 … (e.g. targets above their inversions). */
export function interleaveRows<T extends Tensor>(batches: readonly T[], cols: number): T[] {
  const chunked = batches.map((b) => chunkRows(b, cols));
  const out: T[] = [];
  for (let r = 0; r < chunked[0]!.length; r++) for (const c of chunked) out.push(c[r]!);
  return out;
}
