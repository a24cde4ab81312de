// Class-conditional Gaussians for generation seeds (browser-safe): per class mean and Cholesky factor of cov + ridge·I.
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";
import { Rng } from "../util/rng.js";
import { avgPoolDown, nearestUp } from "./image-ops.js";
import { GAUSSIAN_DEFAULT_DIM, GAUSSIAN_MAX_DIM, SYNTH_CONSTANTS, gaussianFactor } from "./settings.js";

export interface ClassGaussians {
  /** Image shape [C,H,W] the samples are upsampled to. */
  shape: [number, number, number];
  /** Images were average-pooled by this factor before fitting; samples are nearest-upsampled by it. */
  factor: number;
  /** Fitted classes, in order; mean/chol rows follow it. */
  classes: number[];
  /** Images fitted per class. */
  counts: number[];
  /** Dimension d = C·(H/f)·(W/f). */
  dim: number;
  /** [K·d] class means. */
  mean: Float32Array;
  /** [K·d·d] lower-triangular Cholesky factors, row-major. */
  chol: Float32Array;
}

export interface FitOptions {
  /** Pooling factor before fitting (the paper: 4 on ImageNet, 1 on CIFAR); default gaussianFactor(shape) (1 up to 3·32·32). */
  factor?: number;
  /** Classes to fit (default: every label present). */
  classes?: readonly number[];
  /** At most this many images per class (the first ones); default 1000. */
  maxPerClass?: number;
  /** Added to the covariance diagonal (default 1e-4, the paper's). */
  ridge?: number;
}

/** In-place Cholesky of a symmetric positive-definite d×d matrix (row-major, float64); returns L in the lower triangle. */
export function cholesky(a: Float64Array, d: number): Float64Array {
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j]!;
    for (let k = 0; k < j; k++) s -= a[j * d + k]! ** 2;
    if (!(s > 0)) throw new Error(`cholesky: matrix is not positive definite (pivot ${j} is ${s})`);
    const ljj = Math.sqrt(s);
    a[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j]!;
      for (let k = 0; k < j; k++) t -= a[i * d + k]! * a[j * d + k]!;
      a[i * d + j] = t / ljj;
    }
    for (let k = j + 1; k < d; k++) a[j * d + k] = 0;
  }
  return a;
}

/** Fits one Gaussian per class to labelled images [N,C,H,W] in [0,1]. */
export function fitClassGaussians(images: Tensor<"float32">, labels: ArrayLike<number | bigint>, o: FitOptions = {}): ClassGaussians {
  if (images.shape.length !== 4) throw new Error(`fitClassGaussians: expected NCHW images, got ${formatShape(images.shape)}`);
  const n = images.shape[0]!;
  if (labels.length !== n) throw new Error(`fitClassGaussians: ${labels.length} labels for ${n} images`);
  const factor = o.factor ?? gaussianFactor(images.shape.slice(1)),
    ridge = o.ridge ?? SYNTH_CONSTANTS.covarianceRidge,
    cap = o.maxPerClass ?? 1000;
  if (!(ridge > 0)) throw new Error(`fitClassGaussians: ridge must be positive, got ${ridge}`);
  const [c, h, w] = images.shape.slice(1) as [number, number, number];
  const pooled = c * Math.floor(h / factor) * Math.floor(w / factor);
  if (pooled > GAUSSIAN_MAX_DIM)
    throw new Error(
      `fitClassGaussians: images ${formatShape(images.shape)} pooled ${factor}× have ${pooled} values, above ${GAUSSIAN_MAX_DIM} for a full covariance; pool more (factor ${gaussianFactor(images.shape.slice(1))} fits ≤ ${GAUSSIAN_DEFAULT_DIM})`,
    );
  const small = factor === 1 ? images : avgPoolDown(images, factor);
  const d = small.data.length / Math.max(1, n);
  const ys = Array.from(labels, Number);
  const classes = o.classes ? [...o.classes] : [...new Set(ys)].sort((a, b) => a - b);
  const mean = new Float32Array(classes.length * d),
    chol = new Float32Array(classes.length * d * d),
    counts: number[] = [];
  classes.forEach((cls, k) => {
    const rows = ys.flatMap((y, i) => (y === cls ? [i] : [])).slice(0, cap);
    if (rows.length < 2) throw new Error(`fitClassGaussians: class ${cls} has ${rows.length} image(s); need at least 2`);
    counts.push(rows.length);
    const mu = new Float64Array(d);
    for (const i of rows) for (let j = 0; j < d; j++) mu[j]! += small.data[i * d + j]!;
    for (let j = 0; j < d; j++) mu[j]! /= rows.length;
    // unbiased covariance, lower triangle accumulated then mirrored
    const cov = new Float64Array(d * d),
      c = new Float64Array(d);
    for (const i of rows) {
      for (let j = 0; j < d; j++) c[j] = small.data[i * d + j]! - mu[j]!;
      for (let a = 0; a < d; a++) {
        const ca = c[a]!;
        if (ca === 0) continue;
        const row = a * d;
        for (let b = 0; b <= a; b++) cov[row + b]! += ca * c[b]!;
      }
    }
    for (let a = 0; a < d; a++) {
      for (let b = 0; b <= a; b++) {
        const v = cov[a * d + b]! / (rows.length - 1);
        cov[a * d + b] = v;
        cov[b * d + a] = v;
      }
      cov[a * d + a]! += ridge;
    }
    chol.set(cholesky(cov, d), k * d * d);
    mean.set(mu, k * d);
  });
  return { shape: images.shape.slice(1) as [number, number, number], factor, classes, counts, dim: d, mean, chol };
}

/** `count` samples per requested class (class by class in the given order), clamped to [0,1] and upsampled. */
export function sampleClassGaussians(
  g: ClassGaussians,
  classes: readonly number[],
  count: number,
  seed = 0,
): { x: Tensor<"float32">; labels: number[] } {
  if (!Number.isInteger(count) || count < 1) throw new Error(`sampleClassGaussians: count must be a positive integer, got ${count}`);
  const d = g.dim,
    [c, h, w] = g.shape,
    f = g.factor;
  const out = new Float32Array(classes.length * count * d),
    z = new Float64Array(d),
    labels: number[] = [];
  classes.forEach((cls, ci) => {
    const k = g.classes.indexOf(cls);
    if (k < 0) throw new Error(`sampleClassGaussians: class ${cls} was not fitted (fitted: ${g.classes.join(", ")})`);
    for (let s = 0; s < count; s++) {
      // one stream per (seed, class, sample): the same images whatever else is asked for
      const rng = Rng.derive(seed, cls, s);
      for (let j = 0; j < d; j++) z[j] = rng.normal();
      const o = (ci * count + s) * d;
      for (let a = 0; a < d; a++) {
        let v = g.mean[k * d + a]!;
        const row = k * d * d + a * d;
        for (let b = 0; b <= a; b++) v += g.chol[row + b]! * z[b]!;
        out[o + a] = Math.min(1, Math.max(0, v));
      }
      labels.push(cls);
    }
  });
  const small = tensor("float32", [classes.length * count, c, h / f, w / f], out) as Tensor<"float32">;
  return { x: f === 1 ? small : nearestUp(small, f), labels };
}
