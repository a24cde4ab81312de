// Numbers behind the paper's pictures (browser-safe): summaries of inversions and feature visualizations.
import type { Tensor } from "../ir/tensor.js";
import { rmse, ssim } from "../vis/metrics.js";

const avg = (a: ArrayLike<number>): number => (a.length ? Array.from(a).reduce((s, v) => s + v, 0) / a.length : NaN);

export interface InversionMetrics {
  /** Mean ‖R(x) − R(t)‖₂/‖R(t)‖₂ at the returned images. */
  distance: number;
  /** Mean pixel RMSE and SSIM between inversion and target. */
  rmse: number;
  ssim: number;
  perExample: { distance: number[]; rmse: number[]; ssim: number[] };
}

/** Summarizes inversions `x` of `targets` given the per-example representation distances the search returned. */
export function inversionMetrics(targets: Tensor<"float32">, x: Tensor<"float32">, distance: ArrayLike<number>): InversionMetrics {
  const r = rmse(x, targets),
    s = ssim(x, targets);
  return {
    distance: avg(distance),
    rmse: avg(r),
    ssim: avg(s),
    perExample: { distance: Array.from(distance), rmse: Array.from(r), ssim: Array.from(s) },
  };
}

/** The same distance computed from representations (e.g. to re-measure a result under another model). */

export { avg as mean };
