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
  for (const p of parts) { data.set(p.data as Float32Array, off); off += p.data.length; }
  const n = parts.reduce((s, p) => s + p.shape[0]!, 0);
  return tensor(first.dtype, [n, ...first.shape.slice(1)], data as never) as T;
}
