// An L2 threat whose steps move only the pixels of a per-example region (painting: strokes change only their mask).
import { l2Threat } from "../attack/l2.js";
import { type ThreatModel, exampleAxes } from "../attack/threat.js";

/** Graph input of the step region [N,1,H,W] (1 = may change); fed through pgd's `feeds`. */
export const REGION_INPUT = "synth_step_region";

/**
 * L2 ball of radius ε where each step is x + α·(g·m)/‖g·m‖₂: the normalized step spends its whole length inside the
 * region (with the plain L2 step, a strong penalty outside the region makes the iterates oscillate around x₀).
 */
export function regionL2Threat(eps: number): ThreatModel {
  const base = l2Threat(eps);
  return {
    ...base,
    name: "l2-region",
    key: `l2-region:${eps}`,
    step: (g, x, grad, alpha) => {
      const s = x.shape!;
      const region = g.graph.addInput(REGION_INPUT, "float32", [s[0]!, 1, ...s.slice(2)]);
      const gm = g.mul(grad, region);
      const n = g.addv(g.reduceL2(gm, exampleAxes(gm), true), g.scalarLike(1e-12, gm));
      return g.addv(x, g.mul(alpha, g.div(gm, n)));
    },
  };
}
