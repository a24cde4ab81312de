// Scalar losses built as graphs on a model's values; per-example terms are summed so nothing depends on batch size.
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";

/** Per-example cross-entropy [N] of logits [N,C] against int64 labels [N]: logsumexp(z) − z_y. */
export function crossEntropy(g: Builder, logits: Value, labels: Value): Value {
  const c = logits.shape?.[1];
  if (logits.rank !== 2 || typeof c !== "number")
    throw new Error(`cross-entropy: logits "${logits.name}" must be [N,C] with known C, got ${formatShape(logits.shape)}`);
  const classes = g.constant(
    tensor(
      "int64",
      [c],
      Array.from({ length: c }, (_, i) => i),
    ),
    "classes",
  );
  const onehot = g.cast(g.equal(g.unsqueeze(labels, [1]), classes), logits.dtype);
  return g.neg(g.reduceSum(g.mul(g.logSoftmax(logits, 1), onehot), [1], false));
}

/** Refuses target representations [N,...] with a zero (or non-finite) row: the relative distance would divide by zero. */
export function checkTargetRep(t: Tensor, what = "target"): void {
  const n = t.shape[0]!,
    per = n ? t.data.length / n : 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = i * per; k < (i + 1) * per; k++) s += Number(t.data[k]) ** 2;
    if (!Number.isFinite(s)) throw new Error(`${what} ${i}: its representation is not finite`);
    if (s === 0)
      throw new Error(
        `${what} ${i}: its representation is all zeros, so the relative distance ‖R(x) − R(t)‖/‖R(t)‖ is undefined; choose another target`,
      );
  }
}

/** Per-example relative representation distance [N]: ‖R(x) − R(t)‖₂ / ‖R(t)‖₂, with R(t) given (a constant input). */
export function repDistance(g: Builder, rep: Value, targetRep: Value): Value {
  const r = g.flatten(rep, 1);
  const t = g.flatten(targetRep, 1);
  return g.div(g.reduceL2(g.sub(r, t), [1], false), g.reduceL2(t, [1], false));
}

/** Σ over the batch of a per-example loss, as the scalar to differentiate. */
export const sumOverBatch = (g: Builder, perExample: Value): Value => g.reduceSum(perExample, [], false);
