// Representation objectives as per-example AttackLosses, and the chunked pgd() runner every visualization operation uses.
import type { AttackLoss, LossContext } from "../attack/losses.js";
import { pgd } from "../attack/pgd.js";
import { attackPrograms } from "../attack/program.js";
import type { OnStep } from "../attack/runs.js";
import { type ThreatSpec, threatModel } from "../attack/threat.js";
import { type Tensor, sizeOf, tensor } from "../ir/tensor.js";
import { repDistance } from "../model/losses.js";
import type { Model } from "../model/model.js";
import { type Runner, withSession } from "../runtime/session.js";
import type { RepChoice } from "../model/representation.js";
import { concatBatch, sliceBatch } from "../ir/batch.js";

/** The paper's settings (docs/design.md §4): L2 steps with ε so large that only the [0,1] box constrains. */
export const VIS_DEFAULTS = {
  invert: { eps: 1000, stepSize: 1, steps: 1000 },
  // §4 gives the step (0.1 on CIFAR) but no iteration count: the CIFAR inversion demo's 1000 is reused
  interpolate: { eps: 1000, stepSize: 0.1, steps: 1000, frames: 10 },
  visualizeFeature: { eps: 1000, stepSize: 1, steps: 200 },
  // the paper's "maximizing inputs" variant: pass these options with seed "gray" to visualizeFeature
  maximizingInput: { eps: 500, stepSize: 0.5, steps: 1500 },
  addFeature: { eps: 1000, stepSize: 0.1, steps: 800, level: 1 },
} as const;

/** Options shared by every optimization-based operation. */
export interface SearchOptions extends RepChoice {
  steps?: number;
  /** L2 step α (x ← x + α·g/‖g‖₂ per example). */
  stepSize?: number;
  /** L2 radius around the seed; the default 1000 leaves only the [0,1] box. */
  eps?: number;
  /** Return the best iterate per example (default, as the robustness library's use_best) or the last. */
  keep?: "best" | "last";
  /** Examples optimized per pgd() call (default 128); results never depend on it. */
  batchSize?: number;
  /** Seed of the noise images (seed "noise"). */
  rngSeed?: number;
  /** After every step; `info.x` is the chunk's new iterate, `info.offset` the index of its first example. */
  onStep?: (done: number, total: number, info: Parameters<OnStep>[2] & { offset: number }) => void;
  /** Stops between steps (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

const TARGET = "vis_target_rep";
const MASK = "vis_feature_mask";

/** A batch-first float input of the loss graph, shaped like `t` for this graph's batch. */
const repInput = (ctx: LossContext, name: string, t: Tensor) => ctx.graph.addInput(name, "float32", [ctx.n, ...t.shape.slice(1)]);

/** ‖R(x) − R(t)‖₂ / ‖R(t)‖₂ per example, minimized; R(t) [N,...] is fed as an input (computed once). */
export function repTargetLoss(rep: string, targetRep: Tensor<"float32">): AttackLoss {
  return {
    name: "rep-distance",
    key: `rep-distance:${rep}`,
    goal: "min",
    feeds: { [TARGET]: targetRep },
    // R(x) itself from the evaluation program: the target representations need no forward program of their own
    outputs: [rep],
    build: (g, ctx) => repDistance(g, ctx.graph.value(rep), repInput(ctx, TARGET, targetRep)),
  };
}

/**
 * The masked feature Σ_j mask_ij·R(x)_ij per example, maximized; with `level`, min(feature − level, 0) instead, which stops
 * pushing once the feature reaches the level (feature addition).
 */
export function featureLoss(rep: string, mask: Tensor<"float32">, level?: number): AttackLoss {
  return {
    name: level === undefined ? "feature" : "feature-capped",
    key: `feature:${rep}:${level ?? ""}`,
    goal: "max",
    feeds: { [MASK]: mask },
    build: (g, ctx) => {
      const act = g.reduceSum(g.mul(g.flatten(ctx.graph.value(rep), 1), repInput(ctx, MASK, mask)), [1], false);
      return level === undefined ? act : g.one("Min", [g.sub(act, g.scalarLike(level, act)), g.scalarLike(0, act)], {});
    },
  };
}

export const FEED_NAMES = { target: TARGET, mask: MASK } as const;

/** Examples per pgd() call. */
const chunkSize = (o: SearchOptions, n: number): number => Math.max(1, Math.min(o.batchSize ?? 128, n));
/** The search's threat: an L2 ball of radius eps around the seed. */
const searchThreat = (eps: number): ThreatSpec => ({ kind: "l2", eps });

/**
 * R(x) of target images from the evaluation program of the rep-distance search over the same chunks (the program
 * `searchInChunks` compiles for inversion), not from a forward program of its own: one ORT session of the weights fewer.
 */
export async function targetRepresentation(
  runner: Runner,
  model: Model,
  x: Tensor<"float32">,
  o: SearchOptions & { eps: number },
): Promise<Tensor<"float32">> {
  const n = model.checkInput(x, "images");
  const bs = chunkSize(o, n);
  return withSession(runner, async (session) => {
    const parts: Tensor<"float32">[] = [];
    for (let lo = 0; lo < n; lo += bs) {
      const hi = Math.min(n, lo + bs);
      const setup = model.representation(o, hi - lo);
      const shape = [hi - lo, ...setup.shape];
      // any finite non-zero target: only R(x) is read, not the distance to it
      const loss = repTargetLoss(setup.name, tensor("float32", shape, new Float32Array(sizeOf(shape)).fill(1)));
      const p = await attackPrograms(session, model, hi - lo, loss, threatModel(searchThreat(o.eps)), {
        straightThrough: setup.straightThrough,
      });
      const out = await p.evaluate.run({ ...loss.feeds, [model.inputName]: sliceBatch(x, lo, hi) });
      parts.push(out[setup.name] as Tensor<"float32">);
    }
    return concatBatch(parts);
  });
}

/**
 * Runs pgd() over the batch in chunks of `batchSize` (programs cached on the session per chunk size); `perExample` holds
 * the loss's batch-first feeds (sliced per chunk), `makeLoss` builds the loss for a chunk's feeds. Returns the images and losses.
 */
export async function searchInChunks(
  runner: Runner,
  model: Model,
  x0: Tensor<"float32">,
  perExample: Record<string, Tensor<"float32">>,
  makeLoss: (rep: string, feeds: Record<string, Tensor<"float32">>) => AttackLoss,
  o: SearchOptions & { steps: number; stepSize: number; eps: number },
): Promise<{ x: Tensor<"float32">; loss: Float32Array }> {
  const n = model.checkInput(x0, "seed");
  const bs = chunkSize(o, n);
  const threat = searchThreat(o.eps);
  const chunks = Math.ceil(n / bs);
  return withSession(runner, async (session) => {
    const xs: Tensor<"float32">[] = [];
    const losses = new Float32Array(n);
    let done = 0;
    for (let lo = 0; lo < n; lo += bs) {
      const hi = Math.min(n, lo + bs);
      const feeds = Object.fromEntries(Object.entries(perExample).map(([k, t]) => [k, sliceBatch(t, lo, hi)]));
      const setup = model.representation(o, hi - lo);
      const res = await pgd(session, model, sliceBatch(x0, lo, hi), {
        threat,
        loss: makeLoss(setup.name, feeds),
        steps: o.steps,
        stepSize: o.stepSize,
        keep: o.keep ?? "best",
        straightThrough: setup.straightThrough,
        signal: o.signal,
        onStep: o.onStep && ((k, _t, info) => o.onStep!(done + k, o.steps * chunks, { ...info, offset: lo })),
      });
      done += o.steps;
      xs.push(res.x);
      losses.set(res.loss, lo);
    }
    return { x: concatBatch(xs), loss: losses };
  });
}
