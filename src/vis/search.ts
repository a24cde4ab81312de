// Representation objectives as per-example AttackLosses, and the chunked pgd() runner every visualization operation uses.
import { compileAttack } from "../attack/program.js";
import type { AttackLoss, LossContext } from "../attack/losses.js";
import { pgd } from "../attack/pgd.js";
import { type ThreatSpec, threatModel } from "../attack/threat.js";
import type { Tensor } from "../ir/tensor.js";
import { repDistance } from "../model/losses.js";
import type { Model } from "../model/model.js";
import type { Executor } from "../runtime/executor.js";
import { type RepChoice, repSetup } from "./representation.js";
import { concatBatch, sliceBatch } from "../ir/batch.js";

/** The paper's settings (DESIGN.md §4): L2 steps with ε so large that only the [0,1] box constrains. */
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
  onStep?: (done: number, total: number) => void;
  /** Per step (0-based) and chunk: the loss of examples first … first + loss.length − 1 at the iterate the step started from. */
  onLoss?: (step: number, loss: Float32Array, first: number) => void;
}

const TARGET = "vis_target_rep";
const MASK = "vis_feature_mask";

/** A batch-first float input of the loss graph, shaped like `t` for this graph's batch. */
const repInput = (ctx: LossContext, name: string, t: Tensor) => ctx.graph.addInput(name, "float32", [ctx.n, ...t.shape.slice(1)]);

/** ‖R(x) − R(t)‖₂ / ‖R(t)‖₂ per example, minimized; R(t) [N,...] is fed as an input (computed once). */
export function repTargetLoss(rep: string, targetRep: Tensor<"float32">): AttackLoss {
  return {
    name: "rep-distance", goal: "min",
    build: (g, ctx) => ({ loss: repDistance(g, ctx.graph.value(rep), repInput(ctx, TARGET, targetRep)), feeds: { [TARGET]: targetRep } }),
  };
}

/**
 * The masked feature Σ_j mask_ij·R(x)_ij per example, maximized; with `level`, min(feature − level, 0) instead, which stops
 * pushing once the feature reaches the level (feature addition).
 */
export function featureLoss(rep: string, mask: Tensor<"float32">, level?: number): AttackLoss {
  return {
    name: level === undefined ? "feature" : "feature-capped", goal: "max",
    build: (g, ctx) => {
      const act = g.reduceSum(g.mul(g.flatten(ctx.graph.value(rep), 1), repInput(ctx, MASK, mask)), [1], false);
      const loss = level === undefined ? act : g.one("Min", [g.sub(act, g.scalarLike(level, act)), g.scalarLike(0, act)], {});
      return { loss, feeds: { [MASK]: mask } };
    },
  };
}

export const FEED_NAMES = { target: TARGET, mask: MASK } as const;

/**
 * Runs pgd() over the batch in chunks of `batchSize`, one compiled program per chunk size; `perExample` holds the loss's
 * batch-first feeds (sliced per chunk), `makeLoss` builds the loss for a chunk's feeds. Returns the images and losses.
 */
export async function searchInChunks(
  exec: Executor, model: Model, x0: Tensor<"float32">, perExample: Record<string, Tensor<"float32">>,
  makeLoss: (rep: string, feeds: Record<string, Tensor<"float32">>) => AttackLoss,
  o: SearchOptions & { steps: number; stepSize: number; eps: number },
): Promise<{ x: Tensor<"float32">; loss: Float32Array }> {
  const n = model.checkInput(x0, "seed");
  const bs = Math.max(1, Math.min(o.batchSize ?? 128, n));
  const threat: ThreatSpec = { kind: "l2", eps: o.eps };
  const chunks = Math.ceil(n / bs);
  const compiled = new Map<number, { programs: Awaited<ReturnType<typeof compileAttack>>; rep: string; straightThrough: string[] }>();
  const xs: Tensor<"float32">[] = [];
  const losses = new Float32Array(n);
  let done = 0;
  try {
    for (let lo = 0; lo < n; lo += bs) {
      const hi = Math.min(n, lo + bs);
      const feeds = Object.fromEntries(Object.entries(perExample).map(([k, t]) => [k, sliceBatch(t, lo, hi)]));
      let entry = compiled.get(hi - lo);
      if (!entry) {
        const setup = repSetup(model, hi - lo, o);
        const programs = await compileAttack(exec, model, hi - lo, makeLoss(setup.name, feeds), threatModel(threat), { straightThrough: setup.straightThrough });
        entry = { programs, rep: setup.name, straightThrough: setup.straightThrough };
        compiled.set(hi - lo, entry);
      }
      const res = await pgd(exec, model, sliceBatch(x0, lo, hi), {
        threat, loss: makeLoss(entry.rep, feeds), steps: o.steps, stepSize: o.stepSize, keep: o.keep ?? "best",
        straightThrough: entry.straightThrough, programs: entry.programs, feeds,
        onStep: (k, _total, loss) => { o.onStep?.(done + k, o.steps * chunks); o.onLoss?.(k - 1, loss, lo); },
      });
      done += o.steps;
      xs.push(res.x);
      losses.set(res.loss, lo);
    }
  } finally {
    for (const e of compiled.values()) await e.programs.dispose();
  }
  return { x: concatBatch(xs), loss: losses };
}
