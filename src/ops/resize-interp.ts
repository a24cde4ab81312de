// Resize along one axis as a matrix M [out, in] (y = M x), with the coordinates, taps and weights of ORT's CPU kernels in float32:
// the VJP multiplies by Mᵀ, which is exact for every mode because each is linear in x.
import { type Tensor, tensor } from "../ir/tensor.js";

const f32 = Math.fround;

/** coordinate_transformation_mode values the gradient follows (half_pixel_symmetric is opset 19, past our opset 17). */
export const COORD_MODES = [
  "half_pixel",
  "pytorch_half_pixel",
  "align_corners",
  "asymmetric",
  "tf_half_pixel_for_nn",
  "tf_crop_and_resize",
];
export const NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];
export const INTERP_MODES = ["nearest", "linear", "cubic"];

export interface AxisResize {
  inLen: number;
  outLen: number;
  /** The scale ORT uses (given, or out/in from sizes), float32. */
  scale: number;
  mode: string;
  coord: string;
  nearest: string;
  cubicA: number;
  excludeOutside: boolean;
  /** This axis's roi [start, end] (tf_crop_and_resize only). */
  roi: readonly [number, number];
}

/** Input coordinate of output index o, in float32 as ORT computes it. */
export function originalCoord(o: number, a: AxisResize): number {
  const s = f32(a.scale);
  switch (a.coord) {
    case "half_pixel":
      return f32(f32(f32(o + 0.5) / s) - 0.5);
    case "pytorch_half_pixel":
      return a.outLen > 1 ? f32(f32(f32(o + 0.5) / s) - 0.5) : 0;
    case "asymmetric":
      return f32(o / s);
    case "tf_half_pixel_for_nn":
      return f32(f32(o + 0.5) / s);
    case "align_corners":
      return a.outLen === 1 ? 0 : f32(f32(o * (a.inLen - 1)) / (a.outLen - 1));
    case "tf_crop_and_resize": {
      const [r0, r1] = [f32(a.roi[0]), f32(a.roi[1])];
      if (a.outLen === 1) return f32(0.5 * (r0 + r1) * (a.inLen - 1));
      return f32(f32(r0 * (a.inLen - 1)) + f32(f32(f32(o * f32(r1 - r0)) * (a.inLen - 1)) / (a.outLen - 1)));
    }
    default:
      throw new Error(`internal: coordinate_transformation_mode "${a.coord}" reached the interpolation matrix`);
  }
}

function nearestIndex(x: number, mode: string): number {
  switch (mode) {
    case "floor":
      return Math.floor(x);
    case "ceil":
      return Math.ceil(x);
    case "round_prefer_ceil":
      return Math.sign(x) * Math.round(Math.abs(x));
    default:
      return x === Math.trunc(x) + 0.5 ? Math.floor(x) : Math.sign(x) * Math.round(Math.abs(x));
  }
}

/** Keys' cubic convolution weights for taps at floor(x) − 1 … floor(x) + 2, t = x − floor(x), as ORT's GetCubicCoeffs. */
function cubicCoeffs(t: number, a: number): number[] {
  const w = (d: number) => {
    const ad = Math.abs(d);
    if (ad <= 1) return ((a + 2) * ad - (a + 3)) * ad * ad + 1;
    return ((a * ad - 5 * a) * ad + 8 * a) * ad - 4 * a;
  };
  return [w(t + 1), w(t), w(1 - t), w(2 - t)].map(f32);
}

/** Weights of row o of M as [input index, weight] pairs (empty: the output is the extrapolation value, no input reaches it). */
export function rowWeights(o: number, a: AxisResize): [number, number][] {
  const n = a.inLen;
  // ORT reads the input straight through where the scale is 1, whatever the coordinate mode
  if (f32(a.scale) === 1) return [[o, 1]];
  const x = originalCoord(o, a);
  const extrapolate = a.coord === "tf_crop_and_resize" && (x < 0 || x > n - 1);
  if (extrapolate) return [];
  const clamp = (i: number) => Math.min(Math.max(i, 0), n - 1);
  if (a.mode === "nearest") return [[clamp(nearestIndex(x, a.nearest)), 1]];
  if (a.mode === "linear") {
    const c = Math.min(Math.max(x, 0), n - 1);
    const i1 = Math.min(Math.trunc(c), n - 1),
      i2 = Math.min(i1 + 1, n - 1);
    if (i1 === i2) return [[i1, 1]];
    return [
      [i1, f32(Math.abs(c - i2))],
      [i2, f32(Math.abs(c - i1))],
    ];
  }
  const base = Math.floor(x);
  const coeffs = cubicCoeffs(f32(x - base), a.cubicA);
  const taps = coeffs.map((w, t): [number, number] => [base - 1 + t, w]);
  if (!a.excludeOutside) return taps.map(([i, w]) => [clamp(i), w]);
  // exclude_outside: taps off the input get weight 0 and the rest are renormalized to sum to 1
  const inside = taps.filter(([i]) => i >= 0 && i < n);
  const sum = inside.reduce((acc, [, w]) => acc + w, 0);
  return inside.map(([i, w]) => [i, f32(w / sum)]);
}

/** M [out, in] (or Mᵀ [in, out] when `transposed`) in the gradient's dtype; repeated clamped taps add up. */
export function interpMatrix(a: AxisResize, dtype: Tensor["dtype"], transposed: boolean): Tensor {
  const { inLen, outLen } = a;
  const vals = new Array<number>(outLen * inLen).fill(0);
  for (let o = 0; o < outLen; o++) {
    for (const [i, w] of rowWeights(o, a)) vals[transposed ? i * outLen + o : o * inLen + i] += w;
  }
  return tensor(dtype, transposed ? [inLen, outLen] : [outLen, inLen], vals);
}
