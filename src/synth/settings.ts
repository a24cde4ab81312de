// The published synthesis settings (docs/design.md §9) and the one rule that scales them to another input size.

/** Input sizes (C·H·W) the published settings were tuned for. */
export const REFERENCE_DIMS = { cifar: 3 * 32 * 32, imagenet: 3 * 224 * 224 } as const;

export type SynthTask = "generate" | "inpaint" | "superResolve" | "translate" | "sketch" | "paint";

export interface PublishedSetting {
  /** Which input size ε and the step were tuned at. */
  reference: keyof typeof REFERENCE_DIMS;
  eps: number;
  stepSize: number;
  steps: number;
  /** Whether the gradient passes straight through the last ReLU before R (the paper's fake ReLU). */
  fakeRelu: boolean;
}

/**
 * The paper's settings per task. Generation uses the CIFAR-10 row (28×28 is closest to 32×32, full-resolution
 * Gaussian); the others exist only at ImageNet size, so they are scaled from 3·224·224.
 */
export const PUBLISHED: Readonly<Record<SynthTask, PublishedSetting>> = {
  generate: { reference: "cifar", eps: 30, stepSize: 0.5, steps: 60, fakeRelu: false },
  inpaint: { reference: "imagenet", eps: 21.6, stepSize: 0.1, steps: 720, fakeRelu: true },
  // the 224 → 28 average-pool variant (ε 8, 40 steps)
  superResolve: { reference: "imagenet", eps: 8, stepSize: 1, steps: 40, fakeRelu: true },
  translate: { reference: "imagenet", eps: 80, stepSize: 0.5, steps: 200, fakeRelu: false },
  sketch: { reference: "imagenet", eps: 40, stepSize: 1, steps: 60, fakeRelu: false },
  // fake ReLU as in the representation tools (§4), so a dead unit can be pushed
  paint: { reference: "imagenet", eps: 70, stepSize: 1, steps: 140, fakeRelu: true },
};

/** Other published constants: inpainting's penalty weight and patch, painting's weights, generation's ridge. */
export const SYNTH_CONSTANTS = {
  inpaintLambda: 10,
  /** ImageNet inpainting patch side over image side (60 of 224). */
  inpaintPatchFraction: 60 / 224,
  paintFeatureWeight: 0.1,
  paintOutsideWeight: 90,
  covarianceRidge: 1e-4,
  /** Super-resolution factor at 28×28 (28 → 7 → 28; ImageNet used 8×, 224 → 28). */
  superResolveFactor: 4,
} as const;

/** Largest Gaussian dimension (C·H·W after pooling) fitted by default: CIFAR's 3·32·32, the paper's full-resolution case. */
export const GAUSSIAN_DEFAULT_DIM = REFERENCE_DIMS.cifar;
/** Hard cap: a d×d float64 covariance of 16384 values is 2 GiB and its Cholesky ~1.5e12 flops. */
export const GAUSSIAN_MAX_DIM = 16384;

/**
 * Default pooling factor for the class Gaussians of an input [C,H,W]: the smallest f dividing H and W with
 * C·(H/f)·(W/f) ≤ 3·32·32 (28×28 and CIFAR: 1; 224×224×3: 7, i.e. 32×32 like CIFAR, where the paper pooled 4×).
 */
export function gaussianFactor(shape: readonly number[]): number {
  const [c, h, w] = shape as [number, number, number];
  for (let f = 1; f <= Math.min(h, w); f++) if (h % f === 0 && w % f === 0 && c * (h / f) * (w / f) <= GAUSSIAN_DEFAULT_DIM) return f;
  return Math.min(h, w);
}

/**
 * THE scaling rule: an L2 radius or step tuned for inputs of d_ref values becomes ·sqrt(d / d_ref) for inputs of d values.
 * An L2 norm over d i.i.d. pixel changes grows as sqrt(d), so this keeps the per-pixel change (RMS) of the published
 * setting; the step count is kept, so the path length relative to ε is the published one.
 */
export function scaleL2(value: number, dims: number, reference: keyof typeof REFERENCE_DIMS): number {
  if (!(Number.isInteger(dims) && dims > 0)) throw new Error(`scaleL2: input size must be a positive integer, got ${dims}`);
  return value * Math.sqrt(dims / REFERENCE_DIMS[reference]);
}

export interface TaskSetting {
  eps: number;
  stepSize: number;
  steps: number;
  fakeRelu: boolean;
}

/** The published setting of a task for inputs of `dims` (= C·H·W) values, ε and step scaled by `scaleL2`. */
export function synthSettings(task: SynthTask, dims: number): TaskSetting {
  const p = PUBLISHED[task];
  return { eps: scaleL2(p.eps, dims, p.reference), stepSize: scaleL2(p.stepSize, dims, p.reference), steps: p.steps, fakeRelu: p.fakeRelu };
}
