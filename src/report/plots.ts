// The report's plots as Vega-Lite specs (browser-safe): accuracy vs ε of the compared models, each search's objective, training curves.
import type { TopLevelSpec } from "vega-lite";
import { type EvalReport, reportThreat, robustnessPoints } from "../plot/data.js";
import { type ObjectivePoint, type TrainingRun, objectiveSpec, robustnessSpec, trainingSpec } from "../plot/specs.js";
import type { ModelResults, ObjectiveId } from "./experiments.js";

/** Which figure each traced objective sits beside, and how its axis reads. */
export const OBJECTIVES: Record<ObjectiveId, { figure: string; title: string; yTitle: string; logY?: boolean }> = {
  invert: { figure: "invert", title: "Inversion objective", yTitle: "‖R(x) − R(t)‖ / ‖R(t)‖", logY: true },
  ood: { figure: "ood", title: "OOD inversion objective", yTitle: "‖R(x) − R(t)‖ / ‖R(t)‖", logY: true },
  interpolate: { figure: "interpolate", title: "Interpolation objective", yTitle: "‖R(x) − R_λ‖ / ‖R_λ‖", logY: true },
  visualize: { figure: "features", title: "Feature activation from noise", yTitle: "activation / dataset max" },
  maximizing: { figure: "features", title: "Maximizing input (gray start)", yTitle: "activation / dataset max" },
  add: { figure: "add", title: "Feature addition", yTitle: "min(activation, level) / level" },
};

/** Per figure id, the objective plots of every model on one axis; a model whose curve is not finite is left out and named. */
export function objectivePlots(names: readonly string[], results: readonly ModelResults[]): Map<string, { id: ObjectiveId; spec: TopLevelSpec; left: string[] }[]> {
  const out = new Map<string, { id: ObjectiveId; spec: TopLevelSpec; left: string[] }[]>();
  for (const [id, o] of Object.entries(OBJECTIVES) as [ObjectiveId, (typeof OBJECTIVES)[ObjectiveId]][]) {
    const left: string[] = [];
    const points: ObjectivePoint[] = results.flatMap((r, k) => {
      const curve = r.objectives[id];
      if (curve.some((v) => !Number.isFinite(v) || (o.logY && v <= 0))) { left.push(names[k]!); return []; }
      return curve.map((value, step) => ({ model: names[k]!, step, value }));
    });
    if (points.length === 0) continue;
    const spec = objectiveSpec(points, { title: o.title, yTitle: o.yTitle, logY: o.logY, subtitle: "mean over examples, at each step's starting iterate", width: 300, height: 190 });
    out.set(o.figure, [...(out.get(o.figure) ?? []), { id, spec, left }]);
  }
  return out;
}

/** Accuracy vs ε of the compared models (their eval reports must share a threat model). */
export function robustnessPlot(reports: readonly { name: string; report: EvalReport }[], source: string): TopLevelSpec {
  const threats = new Set(reports.map((r) => reportThreat(r.report)));
  if (threats.size !== 1 || threats.has(undefined)) throw new Error(`report: the models' eval reports must share one threat model with ε, got ${[...threats].join(", ")}`);
  const images = [...new Set(reports.map((r) => r.report.images))].join(" / ");
  return robustnessSpec(reports.flatMap((r) => robustnessPoints(r.report, r.name)), {
    threat: [...threats][0], title: "Accuracy under attack", subtitle: `${source}; clean accuracy at ε = 0; ${images} test images`, width: 520, height: 300,
  });
}

export const trainingPlot = (runs: TrainingRun[]): TopLevelSpec => trainingSpec(runs, { title: "Training curves of the models" });
