// Synthesis objectives as per-example AttackLosses (docs/design.md §9): inpainting and painting with features.
import type { AttackLoss, LossContext } from "../attack/losses.js";
import { argmaxRows, labelsInput } from "../attack/losses.js";
import type { Value } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { crossEntropy } from "../model/losses.js";

const LABELS = "synth_labels",
  CORRUPT = "synth_reference",
  KEEP = "synth_keep",
  UNITS = "synth_units";

/** A batch-first float input shaped like `t` for this graph's batch. */
const batchInput = (ctx: LossContext, name: string, t: Tensor) => ctx.graph.addInput(name, "float32", [ctx.n, ...t.shape.slice(1)]);

/** Per example Σ over pixels (all but the batch axis) of v, or the mean with `mean`. */
const perExample = (g: Parameters<AttackLoss["build"]>[0], v: Value, mean: boolean): Value => {
  const axes = Array.from({ length: (v.rank ?? 4) - 1 }, (_, i) => i + 1);
  return mean ? g.reduceMean(v, axes, false) : g.reduceSum(v, axes, false);
};

/**
 * Inpainting: CE(label) + λ·mean((x_c − x)²·(1 − mask)) per example, minimized; `keep` = 1 − mask [N,1,H,W] (1 where the
 * corrupted image x_c is trusted). The mean runs over every pixel, as the paper's.
 */
export function inpaintLoss(
  inputName: string,
  labels: Tensor<"int64">,
  corrupted: Tensor<"float32">,
  keep: Tensor<"float32">,
  lambda: number,
): AttackLoss {
  if (!(lambda >= 0 && Number.isFinite(lambda))) throw new Error(`inpaint: λ must be a finite number ≥ 0, got ${lambda}`);
  return {
    name: "inpaint",
    key: `inpaint:${lambda}`,
    goal: "min",
    feeds: { [LABELS]: labels, [CORRUPT]: corrupted, [KEEP]: keep },
    build: (g, ctx) => {
      const x = ctx.graph.value(inputName);
      const ce = crossEntropy(g, ctx.logits, labelsInput(g, ctx, labels, LABELS));
      const diff = g.sub(batchInput(ctx, CORRUPT, corrupted), x);
      const outside = perExample(g, g.mul(g.mul(diff, diff), batchInput(ctx, KEEP, keep)), true);
      return g.addv(ce, g.mul(outside, g.scalarLike(lambda, outside)));
    },
    success: (logits) => argmaxRows(logits).map((p, i) => p === Number(labels.data[i])),
  };
}

/**
 * Painting with a feature: a·(units · R(x)) − b·‖(x − x₀)·(1 − mask)‖² per example, maximized; `units` [N, |R|] picks the
 * feature (unitMask), `keep` = 1 − mask, x₀ the image before this stroke.
 */
export function paintLoss(
  inputName: string,
  rep: string,
  units: Tensor<"float32">,
  reference: Tensor<"float32">,
  keep: Tensor<"float32">,
  w: { feature: number; outside: number },
): AttackLoss {
  return {
    name: "paint",
    key: `paint:${rep}:${w.feature}:${w.outside}`,
    goal: "max",
    feeds: { [UNITS]: units, [CORRUPT]: reference, [KEEP]: keep },
    build: (g, ctx) => {
      const x = ctx.graph.value(inputName);
      const act = g.reduceSum(g.mul(g.flatten(ctx.graph.value(rep), 1), batchInput(ctx, UNITS, units)), [1], false);
      const diff = g.mul(g.sub(x, batchInput(ctx, CORRUPT, reference)), batchInput(ctx, KEEP, keep));
      const outside = perExample(g, g.mul(diff, diff), false);
      return g.sub(g.mul(act, g.scalarLike(w.feature, act)), g.mul(outside, g.scalarLike(w.outside, outside)));
    },
  };
}
