// Feature-level tools: visualize a unit of R by maximizing it, rank dataset images by it, and add it to images (docs/design.md §4).
import { type Tensor, tensor } from "../ir/tensor.js";
import type { Model } from "../model/model.js";
import type { Runner } from "../runtime/session.js";
import { type Seed, featureActivations, makeSeeds, representationOf, unitMask } from "./representation.js";
import { FEED_NAMES, type SearchOptions, VIS_DEFAULTS, featureLoss, searchInChunks } from "./search.js";

export interface FeatureResult {
  x: Tensor<"float32">;
  /** Per output image, the feature it maximizes. */
  features: number[];
  /** Per output image, the seed image it started from (0 for "gray"/"noise" seeds). */
  seedIndex: number[];
  /** Per output image, the objective at the result (visualizeFeature: the activation; addFeature: min(activation − level, 0)). */
  objective: Float32Array;
}

/**
 * Maximizes feature R(x)_f (ε = 1000, step 1, 200 steps by default). With seed images [S,...] there is one output per
 * (seed s, feature f) at s·F + f; with "gray" or "noise" one per feature (noise drawn independently per output).
 * A feature of a vector R is a unit; of a map R [C,H,W] it is a channel's spatial mean.
 */
export async function visualizeFeature(
  runner: Runner,
  model: Model,
  features: readonly number[],
  seed: Seed = "noise",
  o: SearchOptions = {},
): Promise<FeatureResult> {
  const d = VIS_DEFAULTS.visualizeFeature;
  if (features.length === 0) throw new Error("visualizeFeature: no features given");
  const seeds = typeof seed === "string" ? 1 : seed.shape[0]!;
  if (typeof seed !== "string") model.checkInput(seed, "seed");
  const seedIndex = Array.from({ length: seeds * features.length }, (_, k) => Math.floor(k / features.length));
  const perFeature = seedIndex.map((_, k) => features[k % features.length]!);
  const x0 = typeof seed === "string" ? makeSeeds(model, seed, perFeature.length, o.rngSeed) : repeatEach(seed, features.length);
  const mask = unitMask(model.representation(o).shape, perFeature);
  const res = await searchInChunks(runner, model, x0, { [FEED_NAMES.mask]: mask }, (rep, f) => featureLoss(rep, f[FEED_NAMES.mask]!), {
    ...o,
    steps: o.steps ?? d.steps,
    stepSize: o.stepSize ?? d.stepSize,
    eps: o.eps ?? d.eps,
  });
  return { x: res.x, features: perFeature, seedIndex, objective: res.loss };
}

/** Each image repeated k times in a row: [S,...] → [S·k,...]. */
function repeatEach(x: Tensor<"float32">, k: number): Tensor<"float32"> {
  const n = x.shape[0]!,
    per = x.data.length / n;
  const out = new Float32Array(n * k * per);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out.set(x.data.subarray(i * per, (i + 1) * per), (i * k + j) * per);
  return tensor("float32", [n * k, ...x.shape.slice(1)], out) as Tensor<"float32">;
}

export interface TopActivating {
  /** Indices of the k most activating images, highest first. */
  top: number[];
  /** Indices of the k least activating images, lowest first. */
  bottom: number[];
  /** The feature's activation on every image. */
  activations: Float32Array;
}

/** Ranks images by feature R(x)_f (a forward run in batches) and returns the top-k and bottom-k indices. */
export async function topActivating(
  runner: Runner,
  model: Model,
  images: Tensor<"float32">,
  feature: number,
  k: number,
  o: { rep?: string; batchSize?: number } = {},
): Promise<TopActivating> {
  const rep = await representationOf(runner, model, images, o);
  return rankByFeature(featureActivations(rep, unitMask(rep.shape.slice(1), [feature])), k);
}

/** Top-k and bottom-k indices of precomputed activations (rank many features from one forward pass). */
export function rankByFeature(activations: Float32Array, k: number): TopActivating {
  if (!Number.isInteger(k) || k < 1) throw new Error(`topActivating: k must be a positive integer, got ${k}`);
  // ties broken by index so the ranking is deterministic
  const order = Array.from(activations.keys()).sort((i, j) => activations[j]! - activations[i]! || i - j);
  const kk = Math.min(k, order.length);
  return { top: order.slice(0, kk), bottom: order.slice(order.length - kk).reverse(), activations };
}

export interface AddFeatureOptions extends SearchOptions {
  /** Activation at which the push stops (default 1). */
  level?: number;
}

/**
 * Adds a feature to images: maximizes min(R(x)_f − level, 0), which stops once the unit reaches the level
 * (ε = 1000, step 0.1, 800 steps by default). `feature` is one feature for all images or one per image.
 */
export async function addFeature(
  runner: Runner,
  model: Model,
  images: Tensor<"float32">,
  feature: number | readonly number[],
  o: AddFeatureOptions = {},
): Promise<FeatureResult> {
  const d = VIS_DEFAULTS.addFeature;
  const n = model.checkInput(images, "images");
  const features = typeof feature === "number" ? new Array<number>(n).fill(feature) : [...feature];
  if (features.length !== n) throw new Error(`addFeature: ${features.length} features for ${n} images`);
  const level = o.level ?? d.level;
  if (!Number.isFinite(level)) throw new Error(`addFeature: level must be a finite number, got ${level}`);
  const mask = unitMask(model.representation(o).shape, features);
  const res = await searchInChunks(
    runner,
    model,
    images,
    { [FEED_NAMES.mask]: mask },
    (rep, f) => featureLoss(rep, f[FEED_NAMES.mask]!, level),
    { ...o, steps: o.steps ?? d.steps, stepSize: o.stepSize ?? d.stepSize, eps: o.eps ?? d.eps },
  );
  return { x: res.x, features, seedIndex: features.map((_, i) => i), objective: res.loss };
}
