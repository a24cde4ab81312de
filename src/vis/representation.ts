// Representation access for the visualization tools: batched R(x), seeds and unit masks (R itself: model/representation.ts).
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";
import { concatBatch, sliceBatch } from "../ir/batch.js";
import { forward } from "../model/forward.js";
import type { Model } from "../model/model.js";
import type { Runner } from "../runtime/session.js";
import { Rng } from "../util/rng.js";

/** R(x) for a batch of images, run in chunks of `batchSize` through forward()'s cached programs. */
export async function representationOf(
  runner: Runner,
  model: Model,
  x: Tensor<"float32">,
  o: { rep?: string; batchSize?: number } = {},
): Promise<Tensor<"float32">> {
  const n = model.checkInput(x, "images");
  const bs = Math.max(1, Math.min(o.batchSize ?? 128, n));
  // the value's name does not depend on the batch size
  const rep = model.representation({ rep: o.rep }, bs);
  const parts: Tensor<"float32">[] = [];
  for (let lo = 0; lo < n; lo += bs)
    parts.push((await forward(runner, model, sliceBatch(x, lo, Math.min(n, lo + bs)), rep.name)) as Tensor<"float32">);
  return concatBatch(parts);
}

/** Starting images: "gray" (all 0.5), "noise" (0.5 + N(0, 0.05²), clamped to [0,1], as in the paper) or given images. */
export type Seed = "gray" | "noise" | Tensor<"float32">;

/** n seed images for the model's input; a single given image is repeated. */
export function makeSeeds(model: Model, seed: Seed, n: number, rngSeed = 0): Tensor<"float32"> {
  if (typeof seed !== "string") {
    model.checkInput(seed, "seed");
    if (seed.shape[0] === n) return seed;
    if (seed.shape[0] !== 1) throw new Error(`seed ${formatShape(seed.shape)}: expected ${n} images or one`);
    const data = new Float32Array(n * seed.data.length);
    for (let i = 0; i < n; i++) data.set(seed.data, i * seed.data.length);
    return tensor("float32", [n, ...seed.shape.slice(1)], data) as Tensor<"float32">;
  }
  const dims = model.inputShape.slice(1);
  if (!dims.every((d): d is number => typeof d === "number"))
    throw new Error(`model input ${formatShape(model.inputShape)} has symbolic image dims: give seed images`);
  const data = new Float32Array(n * dims.reduce((a, b) => a * b, 1)).fill(0.5);
  if (seed === "noise") {
    const rng = new Rng(rngSeed);
    for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, 0.5 + 0.05 * rng.normal()));
  } else if (seed !== "gray") throw new Error(`unknown seed "${seed}" (expected "gray", "noise" or images)`);
  return tensor("float32", [n, ...dims], data) as Tensor<"float32">;
}

/**
 * Weights [N, D] over the flattened R that pick feature f per example: unit f of a vector R [N,D], or the spatial mean of
 * channel f of a map R [N,C,H,W] (so a feature of a conv layer is a channel, as in feature visualization).
 */
export function unitMask(repShape: readonly number[], features: readonly number[]): Tensor<"float32"> {
  const units = repShape[0]!,
    spatial = repShape.slice(1).reduce((a, b) => a * b, 1),
    d = units * spatial;
  const data = new Float32Array(features.length * d);
  features.forEach((f, i) => {
    if (!Number.isInteger(f) || f < 0 || f >= units)
      throw new Error(`feature ${f} is out of range: representation ${formatShape(repShape)} has ${units} features`);
    data.fill(1 / spatial, i * d + f * spatial, i * d + (f + 1) * spatial);
  });
  return tensor("float32", [features.length, d], data) as Tensor<"float32">;
}

/** Per-example activation of the masked feature in R (the JS twin of the graph objective). */
export function featureActivations(rep: Tensor<"float32">, mask: Tensor<"float32">): Float32Array {
  const n = rep.shape[0]!,
    d = rep.data.length / n;
  if (mask.shape[1] !== d)
    throw new Error(`feature mask ${formatShape(mask.shape)} does not match representation ${formatShape(rep.shape)}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const m = mask.shape[0] === 1 ? 0 : i;
    for (let j = 0; j < d; j++) s += rep.data[i * d + j]! * mask.data[m * d + j]!;
    out[i] = s;
  }
  return out;
}
