// Difference of Logits Ratio (Croce & Hein 2020): a margin loss invariant to shifting and scaling the logits.
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";
import { type AttackLoss, argmaxRows, labelsInput } from "./losses.js";

/** Per-example DLR [N] of logits [N,C] (C ≥ 3) against int64 labels [N]: −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12). */
export function dlr(g: Builder, logits: Value, labels: Value): Value {
  const c = logits.shape?.[1];
  if (logits.rank !== 2 || typeof c !== "number")
    throw new Error(`dlr loss: logits "${logits.name}" must be [N,C] with known C, got ${formatShape(logits.shape)}`);
  if (c < 3) throw new Error(`dlr loss: needs at least 3 classes, logits "${logits.name}" have ${formatShape(logits.shape)}`);
  const [top, idx] = g.add("TopK", [logits, g.int64s([3])], { axis: 1, largest: 1, sorted: 1 }, { name: "dlr_top3" });
  const col = (v: Value, j: number) => g.slice(v, [j], [j + 1], [1]);
  const [z1, z2, z3] = [col(top!, 0), col(top!, 1), col(top!, 2)];
  const y = g.unsqueeze(labels, [1]);
  const classes = g.constant(
    tensor(
      "int64",
      [c],
      Array.from({ length: c }, (_, i) => i),
    ),
    "classes",
  );
  const zy = g.reduceSum(g.mul(logits, g.cast(g.equal(y, classes), logits.dtype)), [1], true);
  // the largest other logit is z_π2 when the label is on top, else z_π1
  const other = g.where(g.equal(col(idx!, 0), y), z2, z1);
  const ratio = g.div(g.sub(zy, other), g.addv(g.sub(z1, z3), g.scalarLike(1e-12, z1)));
  return g.neg(g.squeeze(ratio, [1]));
}

/** Untargeted DLR: maximized; success = the prediction leaves the true label. */
export function dlrLoss(labels: Tensor<"int64">): AttackLoss {
  return {
    name: "dlr",
    goal: "max",
    feeds: { labels },
    build: (g, ctx) => dlr(g, ctx.logits, labelsInput(g, ctx, labels, "labels")),
    success: (logits) => argmaxRows(logits).map((p, i) => p !== Number(labels.data[i])),
  };
}
