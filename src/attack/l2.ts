// L2 ball: normalized-gradient steps, projection by rescaling δ to ‖δ‖₂ ≤ ε, random start on the ε-sphere.
import { type Tensor, tensor } from "../ir/tensor.js";
import type { ThreatModel } from "./threat.js";
import { clampBox, exampleAxes, l2NormOf, ruleOfThumb } from "./threat.js";

export function l2Threat(eps: number): ThreatModel {
  return {
    name: "l2",
    key: `l2:${eps}`,
    eps,
    defaultStepSize: ruleOfThumb(eps),
    // x + α·g/‖g‖₂ (per example; 1e-12 keeps a zero gradient finite)
    step: (g, x, grad, alpha) => {
      const n = g.addv(g.reduceL2(grad, exampleAxes(grad), true), g.scalarLike(1e-12, grad));
      return g.addv(x, g.mul(alpha, g.div(grad, n)));
    },
    // δ ← δ·min(1, ε/‖δ‖₂); x ← clamp(x0 + δ, 0, 1)   (ε/0 = ∞ keeps δ = 0)
    project: (g, x, x0) => {
      const d = g.sub(x, x0);
      const factor = g.one("Min", [g.div(g.scalarLike(eps, d), g.reduceL2(d, exampleAxes(d), true)), g.scalarLike(1, d)], {});
      return clampBox(g, g.addv(x0, g.mul(d, factor)));
    },
    // clamp(x0 + ε·n/‖n‖₂, 0, 1), n ~ N(0, I) per example
    randomStart: (x0, noise) => {
      const per = x0.data.length / x0.shape[0]!;
      const out = new Float32Array(x0.data.length);
      for (let i = 0; i < x0.shape[0]!; i++) {
        const rng = noise(i);
        const n = Array.from({ length: per }, () => rng.normal());
        const s = eps / l2NormOf(n);
        for (let j = 0; j < per; j++) out[i * per + j] = Math.min(1, Math.max(0, x0.data[i * per + j]! + s * n[j]!));
      }
      return tensor("float32", x0.shape, out) as Tensor<"float32">;
    },
    norm: l2NormOf,
  };
}
