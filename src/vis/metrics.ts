// Image and representation metrics in plain JS (browser-safe): RMSE, SSIM, relative representation distance, label agreement.
import { type Tensor, formatShape } from "../ir/tensor.js";

/** What the metrics read: a shape and numeric data (a float Tensor, or any array-backed stand-in). */
export type NumericTensor = Pick<Tensor, "shape"> & { readonly data: ArrayLike<number> };

function checkPair(a: NumericTensor, b: NumericTensor, what: string): { n: number; per: number } {
  if (a.shape.join() !== b.shape.join()) throw new Error(`${what}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
  if (a.shape.length < 2) throw new Error(`${what}: expected a batch [N,...], got ${formatShape(a.shape)}`);
  const n = a.shape[0]!;
  return { n, per: n === 0 ? 0 : a.data.length / n };
}

/** Per example: root mean squared pixel difference. */
export function rmse(a: NumericTensor, b: NumericTensor): Float64Array {
  const { n, per } = checkPair(a, b, "rmse");
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * per; j < (i + 1) * per; j++) {
      const d = a.data[j]! - b.data[j]!;
      s += d * d;
    }
    out[i] = Math.sqrt(s / per);
  }
  return out;
}

/** Per example: ‖r − t‖₂ / ‖t‖₂ over everything but the batch axis (the inversion objective). */
export function relativeRepDistance(r: NumericTensor, t: NumericTensor): Float64Array {
  const { n, per } = checkPair(r, t, "relativeRepDistance");
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let d2 = 0,
      t2 = 0;
    for (let j = i * per; j < (i + 1) * per; j++) {
      const d = r.data[j]! - t.data[j]!;
      d2 += d * d;
      t2 += t.data[j]! * t.data[j]!;
    }
    out[i] = Math.sqrt(d2) / Math.sqrt(t2);
  }
  return out;
}

/** Fraction of examples where an independent classifier's prediction equals the expected label, and the per-example flags. */
export function labelAgreement(
  predicted: ArrayLike<number | bigint>,
  expected: ArrayLike<number | bigint>,
): { rate: number; agree: boolean[] } {
  if (predicted.length !== expected.length)
    throw new Error(`labelAgreement: ${predicted.length} predictions for ${expected.length} labels`);
  const agree = Array.from({ length: predicted.length }, (_, i) => Number(predicted[i]) === Number(expected[i]));
  return { rate: agree.length ? agree.filter(Boolean).length / agree.length : NaN, agree };
}

export interface SsimOptions {
  /** L, the dynamic range of the pixels (1 for [0,1] images). */
  dataRange?: number;
  /** Side of the Gaussian window (odd); 11 as in Wang et al. */
  windowSize?: number;
  /** Standard deviation of the Gaussian window; 1.5 as in Wang et al. */
  sigma?: number;
}

/** The normalized 1-D Gaussian whose outer product is the 2-D window (so filtering is separable and exact). */
export function gaussianWindow1d(size: number, sigma: number): Float64Array {
  const w = new Float64Array(size),
    r = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    w[i] = Math.exp(-((i - r) ** 2) / (2 * sigma * sigma));
    s += w[i]!;
  }
  for (let i = 0; i < size; i++) w[i]! /= s;
  return w;
}

/** 'valid' 2-D filtering of an h×w plane with the separable window w⊗w: output (h−k+1)×(w−k+1). */
function filterValid(src: Float64Array, h: number, wd: number, win: Float64Array): Float64Array {
  const k = win.length,
    oh = h - k + 1,
    ow = wd - k + 1;
  const rows = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += win[t]! * src[y * wd + x + t]!;
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += win[t]! * rows[(y + t) * ow + x]!;
      out[y * ow + x] = s;
    }
  }
  return out;
}

/** Mean SSIM of one channel plane pair (Wang et al. 2004, eq. 13, averaged over the valid window positions). */
function ssimPlane(a: Float64Array, b: Float64Array, h: number, w: number, win: Float64Array, c1: number, c2: number): number {
  const sq = (p: Float64Array, q: Float64Array) => p.map((v, i) => v * q[i]!);
  const mu1 = filterValid(a, h, w, win),
    mu2 = filterValid(b, h, w, win);
  const e11 = filterValid(sq(a, a), h, w, win),
    e22 = filterValid(sq(b, b), h, w, win),
    e12 = filterValid(sq(a, b), h, w, win);
  let total = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i]!,
      m2 = mu2[i]!;
    const s11 = e11[i]! - m1 * m1,
      s22 = e22[i]! - m2 * m2,
      s12 = e12[i]! - m1 * m2;
    total += ((2 * m1 * m2 + c1) * (2 * s12 + c2)) / ((m1 * m1 + m2 * m2 + c1) * (s11 + s22 + c2));
  }
  return total / mu1.length;
}

/**
 * Per example SSIM of NCHW images: Wang et al. (2004) with an 11×11 Gaussian window (σ = 1.5), C1 = (0.01·L)²,
 * C2 = (0.03·L)², population (1/N-weighted) statistics, mean over the window positions fully inside the image
 * ('valid', like the reference MATLAB ssim_index), computed per channel and then averaged over channels.
 * 28×28 images (MNIST-like) use the same 11×11 window, so their SSIM averages an 18×18 map; images smaller than the
 * window are refused rather than silently given a different window.
 */
export function ssim(a: NumericTensor, b: NumericTensor, o: SsimOptions = {}): Float64Array {
  const { n } = checkPair(a, b, "ssim");
  if (a.shape.length !== 4) throw new Error(`ssim: expected NCHW images, got ${formatShape(a.shape)}`);
  const [, c, h, w] = a.shape as [number, number, number, number];
  const size = o.windowSize ?? 11,
    sigma = o.sigma ?? 1.5,
    L = o.dataRange ?? 1;
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0)
    throw new Error(`ssim: window size must be a positive odd integer, got ${size}`);
  if (h < size || w < size) throw new Error(`ssim: images ${h}×${w} are smaller than the ${size}×${size} window`);
  const win = gaussianWindow1d(size, sigma);
  const c1 = (0.01 * L) ** 2,
    c2 = (0.03 * L) ** 2;
  const out = new Float64Array(n),
    plane = h * w;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let ch = 0; ch < c; ch++) {
      const off = (i * c + ch) * plane;
      const pa = Float64Array.from({ length: plane }, (_, j) => a.data[off + j]!);
      const pb = Float64Array.from({ length: plane }, (_, j) => b.data[off + j]!);
      s += ssimPlane(pa, pb, h, w, win, c1, c2);
    }
    out[i] = s / c;
  }
  return out;
}
