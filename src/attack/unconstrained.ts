// Only the pixel box [0,1]: raw gradient steps (of the per-example loss, so no batch-size factor), clamp to the box.
import { type Tensor, tensor } from "../ir/tensor.js";
import type { ThreatModel } from "./threat.js";
import { clampBox, l2NormOf } from "./threat.js";

export function unconstrainedThreat(): ThreatModel {
  return {
    name: "unconstrained",
    key: "unconstrained",
    // x + α·g
    step: (g, x, grad, alpha) => g.addv(x, g.mul(alpha, grad)),
    // clamp(x, 0, 1)
    project: (g, x) => clampBox(g, x),
    // no ball to sample from: start at x0
    randomStart: (x0) => tensor("float32", x0.shape, Float32Array.from(x0.data)) as Tensor<"float32">,
    norm: l2NormOf,
  };
}
