// Representation inversion and interpolation: find images whose R matches a target representation (docs/design.md §4).
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";
import { checkTargetRep } from "../model/losses.js";
import type { Model } from "../model/model.js";
import { type Runner, withSession } from "../runtime/session.js";
import { type Seed, makeSeeds, representationOf } from "./representation.js";
import { FEED_NAMES, type SearchOptions, VIS_DEFAULTS, repTargetLoss, searchInChunks, targetRepresentation } from "./search.js";

export interface InvertOptions extends SearchOptions {
  /** Starting images: "noise" (default: gray 0.5 + N(0, 0.05²), clamped), "gray", or images (one per target, or one for all). */
  seed?: Seed;
}

export interface InvertResult {
  x: Tensor<"float32">;
  /** Per example, ‖R(x) − R(t)‖₂ / ‖R(t)‖₂ at the returned image. */
  distance: Float32Array;
}

/** Minimizes ‖R(x) − r‖₂ / ‖r‖₂ per example for given target representations r [N, ...R]. */
export async function invertRepresentation(
  runner: Runner,
  model: Model,
  targetRep: Tensor<"float32">,
  o: InvertOptions = {},
): Promise<InvertResult> {
  const d = VIS_DEFAULTS.invert;
  const n = targetRep.shape[0]!;
  const want = model.representation(o);
  if (targetRep.shape.slice(1).join() !== want.shape.join())
    throw new Error(`target representation ${formatShape(targetRep.shape)} does not match "${want.name}" [N,${want.shape.join(",")}]`);
  checkTargetRep(targetRep, "target");
  const x0 = makeSeeds(model, o.seed ?? "noise", n, o.rngSeed);
  const res = await searchInChunks(
    runner,
    model,
    x0,
    { [FEED_NAMES.target]: targetRep },
    (rep, f) => repTargetLoss(rep, f[FEED_NAMES.target]!),
    { ...o, steps: o.steps ?? d.steps, stepSize: o.stepSize ?? d.stepSize, eps: o.eps ?? d.eps },
  );
  return { x: res.x, distance: res.loss };
}

/** Inverts the representations of `targets`: R(t) is computed once (by the search's own evaluation program), then matched from the seed. */
export async function invert(runner: Runner, model: Model, targets: Tensor<"float32">, o: InvertOptions = {}): Promise<InvertResult> {
  return withSession(runner, async (session) => {
    const targetRep = await targetRepresentation(session, model, targets, { ...o, eps: o.eps ?? VIS_DEFAULTS.invert.eps });
    return invertRepresentation(session, model, targetRep, o);
  });
}

export interface InterpolateOptions extends SearchOptions {
  /** Frames per pair, λ = j/(frames−1) for j = 0..frames−1 (default 10). */
  frames?: number;
}

export interface InterpolateResult {
  /** [pairs·frames, C, H, W], pair-major: pair i, frame j at i·frames + j (one row of a grid per pair). */
  x: Tensor<"float32">;
  lambdas: number[];
  /** Per output image, its relative distance to the mixed target representation. */
  distance: Float32Array;
}

/** Per element: (1−λ)·a + λ·b for every pair and λ, pair-major, as a batch [pairs·λs, ...]. */
function mixPairs(a: Tensor<"float32">, b: Tensor<"float32">, lambdas: readonly number[]): Tensor<"float32"> {
  const n = a.shape[0]!,
    per = a.data.length / n,
    f = lambdas.length;
  const out = new Float32Array(n * f * per);
  for (let i = 0; i < n; i++) {
    lambdas.forEach((l, j) => {
      const o = (i * f + j) * per;
      for (let k = 0; k < per; k++) out[o + k] = (1 - l) * a.data[i * per + k]! + l * b.data[i * per + k]!;
    });
  }
  return tensor("float32", [n * f, ...a.shape.slice(1)], out) as Tensor<"float32">;
}

/**
 * Interpolates between the representations of image pairs (a_i, b_i): for each λ the target (1−λ)R(a)+λR(b) is inverted,
 * seeded by the pixel mix (1−λ)a+λb (defaults: L2 step 0.1, ε = 1000, 1000 steps, 10 frames).
 */
export async function interpolate(
  runner: Runner,
  model: Model,
  a: Tensor<"float32">,
  b: Tensor<"float32">,
  o: InterpolateOptions = {},
): Promise<InterpolateResult> {
  const d = VIS_DEFAULTS.interpolate;
  if (a.shape.join() !== b.shape.join())
    throw new Error(`interpolate: endpoints ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
  model.checkInput(a, "a");
  model.checkInput(b, "b");
  const frames = o.frames ?? d.frames;
  if (!Number.isInteger(frames) || frames < 2) throw new Error(`interpolate: frames must be an integer ≥ 2, got ${frames}`);
  const lambdas = Array.from({ length: frames }, (_, j) => j / (frames - 1));
  const ra = await representationOf(runner, model, a, { rep: o.rep, batchSize: o.batchSize });
  const rb = await representationOf(runner, model, b, { rep: o.rep, batchSize: o.batchSize });
  const res = await invertRepresentation(runner, model, mixPairs(ra, rb, lambdas), {
    ...o,
    seed: mixPairs(a, b, lambdas),
    steps: o.steps ?? d.steps,
    stepSize: o.stepSize ?? d.stepSize,
    eps: o.eps ?? d.eps,
  });
  return { x: res.x, lambdas, distance: res.distance };
}
