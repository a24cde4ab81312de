// SGD with momentum and weight decay as graph ops (PyTorch semantics), and learning-rate schedules.
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
}

/** d = g + wd·p;  buf' = m·buf + d;  p' = p − lr·buf'  (torch.optim.SGD, dampening 0, no Nesterov). */
export function sgdUpdate(g: Builder, p: Value, grad: Value, buf: Value, lr: Value, o: SgdOptions): { p: Value; buf: Value } {
  const d = o.weightDecay ? g.addv(grad, g.mul(p, g.scalarLike(o.weightDecay, p))) : grad;
  const b = o.momentum ? g.addv(g.mul(buf, g.scalarLike(o.momentum, p)), d) : d;
  return { p: g.sub(p, g.mul(lr, b)), buf: b };
}

export type Schedule = "constant" | "step" | "cosine" | "cyclic";
export const SCHEDULES: readonly Schedule[] = ["constant", "step", "cosine", "cyclic"];

/** Learning rate at progress t ∈ [0,1) of the whole run: step ×0.1 at 50% and 75%; cosine to 0; cyclic 0→lr at 40%, then →0. */
export function learningRate(schedule: Schedule, base: number, t: number): number {
  switch (schedule) {
    case "constant":
      return base;
    case "step":
      return base * (t >= 0.75 ? 0.01 : t >= 0.5 ? 0.1 : 1);
    case "cosine":
      return base * 0.5 * (1 + Math.cos(Math.PI * t));
    case "cyclic":
      return t < 0.4 ? base * (t / 0.4) : base * Math.max(0, (1 - t) / 0.6);
  }
}
