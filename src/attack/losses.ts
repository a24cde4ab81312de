// Attack objectives: a per-example loss [N] built on the model's graph, a goal, and (optionally) what success means.
import type { Builder } from "../ir/builder.js";
import type { Graph, Value } from "../ir/graph.js";
import { type Tensor, formatShape } from "../ir/tensor.js";
import { crossEntropy } from "../model/losses.js";

export interface LossContext { graph: Graph; logits: Value; n: number }

export interface AttackLoss {
  readonly name: string;
  /** "max": ascend the loss (untargeted); "min": descend it (targeted, inversion). */
  readonly goal: "max" | "min";
  /** Builds the per-example loss [N]; extra graph inputs are added with their values in `feeds`. */
  build(g: Builder, ctx: LossContext): { loss: Value; feeds: Record<string, Tensor> };
  /** Per example, whether the attack reached its aim given the logits (untargeted: misclassified). */
  success?(logits: Tensor): boolean[];
}

export function argmaxRows(logits: Tensor): number[] {
  const [n, c] = logits.shape as [number, number];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if ((logits.data[i * c + j] as number) > (logits.data[i * c + best] as number)) best = j;
    out.push(best);
  }
  return out;
}

function labelsInput(g: Builder, ctx: LossContext, labels: Tensor<"int64">, name: string): Value {
  if (labels.shape.length !== 1 || labels.shape[0] !== ctx.n) throw new Error(`${name} ${formatShape(labels.shape)} do not match a batch of ${ctx.n}`);
  return g.graph.addInput(name, "int64", [ctx.n]);
}

/** Untargeted cross-entropy: maximized; success = the prediction leaves the true label. */
export function ceLoss(labels: Tensor<"int64">): AttackLoss {
  return {
    name: "ce", goal: "max",
    build: (g, ctx) => ({ loss: crossEntropy(g, ctx.logits, labelsInput(g, ctx, labels, "labels")), feeds: { labels } }),
    success: (logits) => argmaxRows(logits).map((p, i) => p !== Number(labels.data[i])),
  };
}

/** Targeted cross-entropy towards `targets`: minimized; success = the prediction is the target. */
export function targetedCeLoss(targets: Tensor<"int64">): AttackLoss {
  return {
    name: "ce-targeted", goal: "min",
    build: (g, ctx) => ({ loss: crossEntropy(g, ctx.logits, labelsInput(g, ctx, targets, "target_labels")), feeds: { target_labels: targets } }),
    success: (logits) => argmaxRows(logits).map((p, i) => p === Number(targets.data[i])),
  };
}
