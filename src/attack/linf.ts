// L∞ box: signed-gradient steps, projection by clamping δ to [−ε, ε], random start uniform in the box.
import { type Tensor, tensor } from "../ir/tensor.js";
import type { ThreatModel } from "./threat.js";
import { clampBox, ruleOfThumb } from "./threat.js";

export function linfThreat(eps: number): ThreatModel {
  return {
    name: "linf",
    key: `linf:${eps}`,
    eps,
    defaultStepSize: ruleOfThumb(eps),
    // x + α·sign(g)
    step: (g, x, grad, alpha) => g.addv(x, g.mul(alpha, g.sign(grad))),
    // clamp(x0 + clamp(x − x0, −ε, ε), 0, 1)
    project: (g, x, x0) => {
      const d = g.clip(g.sub(x, x0), g.scalarLike(-eps, x), g.scalarLike(eps, x));
      return clampBox(g, g.addv(x0, d));
    },
    // clamp(x0 + U(−ε, ε), 0, 1)
    randomStart: (x0, noise) => {
      const out = new Float32Array(x0.data.length);
      const per = out.length / x0.shape[0]!;
      for (let i = 0; i < x0.shape[0]!; i++) {
        const rng = noise(i);
        for (let j = i * per; j < (i + 1) * per; j++) out[j] = Math.min(1, Math.max(0, x0.data[j]! + rng.uniform(-eps, eps)));
      }
      return tensor("float32", x0.shape, out) as Tensor<"float32">;
    },
    norm: (d) => {
      let m = 0;
      for (let i = 0; i < d.length; i++) m = Math.max(m, Math.abs(d[i]!));
      return m;
    },
  };
}
