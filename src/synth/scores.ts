// Numbers of the synthesis tasks (browser-safe): an Inception-style score from a judge's logits, masked-region errors.
import { type Tensor, formatShape } from "../ir/tensor.js";
import { rmse, ssim } from "../vis/metrics.js";
import { crop, maskBox } from "./image-ops.js";

/** Row-wise softmax of logits [N,C] in float64. */
export function softmaxRows(logits: Tensor): Float64Array[] {
  if (logits.shape.length !== 2) throw new Error(`softmaxRows: expected logits [N,C], got ${formatShape(logits.shape)}`);
  const [n, c] = logits.shape as [number, number];
  return Array.from({ length: n }, (_, i) => {
    const z = Array.from({ length: c }, (_, j) => Number(logits.data[i * c + j]));
    const m = Math.max(...z);
    const e = Float64Array.from(z, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

/**
 * Inception-style score exp(E_x KL(p(y|x) ‖ p(y))) with p(y) the mean prediction over the images (Salimans et al. 2016,
 * one split): 1 when every image gets the same distribution, up to C for confident predictions spread evenly over C classes.
 */
export function inceptionScore(logits: Tensor): number {
  const p = softmaxRows(logits);
  if (p.length === 0) return NaN;
  const c = p[0]!.length,
    marginal = new Float64Array(c);
  for (const row of p) for (let j = 0; j < c; j++) marginal[j]! += row[j]! / p.length;
  let kl = 0;
  for (const row of p) for (let j = 0; j < c; j++) if (row[j]! > 0) kl += row[j]! * (Math.log(row[j]!) - Math.log(marginal[j]!));
  return Math.exp(kl / p.length);
}

/** Per example: RMSE over the pixels where the mask [N,1,H,W] is 1 (every channel). */
export function maskedRmse(a: Tensor<"float32">, b: Tensor<"float32">, mask: Tensor<"float32">): Float64Array {
  if (a.shape.join() !== b.shape.join()) throw new Error(`maskedRmse: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
  const [n, c, h, w] = a.shape as [number, number, number, number];
  if (mask.shape.join() !== [n, 1, h, w].join())
    throw new Error(`maskedRmse: mask ${formatShape(mask.shape)} does not match images ${formatShape(a.shape)}`);
  const out = new Float64Array(n),
    plane = h * w;
  for (let i = 0; i < n; i++) {
    let s = 0,
      k = 0;
    for (let ch = 0; ch < c; ch++)
      for (let j = 0; j < plane; j++) {
        if (mask.data[i * plane + j]! <= 0) continue;
        const d = a.data[(i * c + ch) * plane + j]! - b.data[(i * c + ch) * plane + j]!;
        s += d * d;
        k++;
      }
    out[i] = k ? Math.sqrt(s / k) : NaN;
  }
  return out;
}

/**
 * Restoration quality of an inpainting or super-resolution result against the original, next to the corrupted input's:
 * RMSE over the masked pixels and SSIM over the mask's bounding box grown to the 11×11 SSIM window.
 */
export function restorationScores(
  original: Tensor<"float32">,
  restored: Tensor<"float32">,
  corrupted: Tensor<"float32">,
  mask: Tensor<"float32">,
) {
  const box = maskBox(mask, 11);
  const o = crop(original, box);
  return {
    rmse: meanOf(maskedRmse(restored, original, mask)),
    rmseCorrupted: meanOf(maskedRmse(corrupted, original, mask)),
    ssim: meanOf(ssim(crop(restored, box), o)),
    ssimCorrupted: meanOf(ssim(crop(corrupted, box), o)),
    box,
  };
}

const meanOf = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

/** Whole-image RMSE and SSIM of restored vs original next to a baseline's (super-resolution: the upsampled low-res image). */
export function imageScores(original: Tensor<"float32">, restored: Tensor<"float32">, baseline: Tensor<"float32">) {
  return {
    rmse: meanOf(rmse(restored, original)),
    rmseBaseline: meanOf(rmse(baseline, original)),
    ssim: meanOf(ssim(restored, original)),
    ssimBaseline: meanOf(ssim(baseline, original)),
  };
}
