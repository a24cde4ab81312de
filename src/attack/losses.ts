// Per-example losses: a loss [N] built on the model's graph, its feeds, a goal, and (optionally) what success means.
// One abstraction serves attacks, input gradients and the representation tools.
import type { Builder } from "../builder/builder.js";
import type { Graph, Value } from "../ir/graph.js";
import { type Tensor, formatShape } from "../ir/tensor.js";
import { crossEntropy } from "../model/losses.js";

export interface LossContext {
  graph: Graph;
  logits: Value;
  n: number;
}

export interface AttackLoss {
  readonly name: string;
  /** Everything `build` bakes into the graph beyond the batch size (default: the name); compiled programs are cached under it. */
  readonly key?: string;
  /** "max": ascend the loss (untargeted); "min": descend it (targeted, inversion). */
  readonly goal: "max" | "min";
  /** Values of the graph inputs `build` adds, fed on every run (so cached programs see this loss's labels or targets). */
  readonly feeds: Readonly<Record<string, Tensor>>;
  /** Builds the per-example loss [N]; it may add graph inputs named in `feeds`. */
  build(g: Builder, ctx: LossContext): Value;
  /** Per example, whether the attack reached its aim given the logits (untargeted: misclassified). */
  success?(logits: Tensor): boolean[];
  /** Values of the model's graph the evaluation program returns too, by name (e.g. the representation); `key` must name them. */
  readonly outputs?: readonly string[];
}

export const lossKey = (l: AttackLoss): string => l.key ?? l.name;

/** Every loss feed is batch-first: checked on each run, since a cached program never calls `build` again. */
export function checkLossFeeds(l: AttackLoss, n: number): void {
  for (const [name, t] of Object.entries(l.feeds)) checkBatch(t, n, name);
}

/** Checks that per-example labels (or any batch-first tensor) match a batch of n. */
export function checkBatch(t: Tensor, n: number, what: string): void {
  if (t.shape[0] !== n || (t.dtype === "int64" && t.shape.length !== 1))
    throw new Error(`${what} ${formatShape(t.shape)} do not match a batch of ${n}`);
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

/** An int64 labels input [N] of the loss graph, checked against the batch. */
export function labelsInput(g: Builder, ctx: LossContext, labels: Tensor<"int64">, name: string): Value {
  checkBatch(labels, ctx.n, name);
  return g.graph.addInput(name, "int64", [ctx.n]);
}

/** Untargeted cross-entropy: maximized; success = the prediction leaves the true label. */
export function ceLoss(labels: Tensor<"int64">): AttackLoss {
  return {
    name: "ce",
    goal: "max",
    feeds: { labels },
    build: (g, ctx) => crossEntropy(g, ctx.logits, labelsInput(g, ctx, labels, "labels")),
    success: (logits) => argmaxRows(logits).map((p, i) => p !== Number(labels.data[i])),
  };
}

/** Targeted cross-entropy towards `targets`: minimized; success = the prediction is the target. */
export function targetedCeLoss(targets: Tensor<"int64">): AttackLoss {
  return {
    name: "ce-targeted",
    goal: "min",
    feeds: { target_labels: targets },
    build: (g, ctx) => crossEntropy(g, ctx.logits, labelsInput(g, ctx, targets, "target_labels")),
    success: (logits) => argmaxRows(logits).map((p, i) => p === Number(targets.data[i])),
  };
}
