// The report's plots as Vega-Lite specs (browser-safe): accuracy vs ε of the compared models, each search's objective, training curves.
import type { TopLevelSpec } from "vega-lite";
import { type EvalReport, reportThreat, robustnessPoints } from "../plot/data.js";
import { type ObjectivePoint, type TrainingRun, objectiveSpec, robustnessSpec, trainingSpec } from "../plot/specs.js";
import { EXPERIMENTS, type Experiment } from "./experiments.js";
import type { ModelRun } from "./run.js";

/** Per experiment id, its objective plots (every model on one axis); a model whose curve is not finite (or not positive on a log axis) is left out and named. */
export function objectivePlots(
  runs: readonly ModelRun[],
  experiments: readonly Experiment[] = EXPERIMENTS,
): Map<string, { name: string; spec: TopLevelSpec; left: string[] }[]> {
  const out = new Map<string, { name: string; spec: TopLevelSpec; left: string[] }[]>();
  for (const e of experiments) {
    for (const c of e.curves ?? []) {
      const left: string[] = [];
      const points: ObjectivePoint[] = runs.flatMap((r) => {
        const curve = r.results.get(e.id)?.curves?.[c.name];
        if (!curve) return [];
        if (curve.some((v) => !Number.isFinite(v) || (c.logY && v <= 0))) {
          left.push(r.name);
          return [];
        }
        return curve.map((value, step) => ({ model: r.name, step, value }));
      });
      if (points.length === 0) continue;
      const spec = objectiveSpec(points, {
        title: `${e.title}: ${c.title.toLowerCase()}`,
        yTitle: c.yTitle,
        logY: c.logY,
        subtitle: "mean over examples, at each step's starting iterate",
        width: 300,
        height: 190,
      });
      out.set(e.id, [...(out.get(e.id) ?? []), { name: c.name, spec, left }]);
    }
  }
  return out;
}

/** Accuracy vs ε of the compared models (their eval reports must share a threat model). */
export function robustnessPlot(reports: readonly { name: string; report: EvalReport }[], source: string): TopLevelSpec {
  const threats = new Set(reports.map((r) => reportThreat(r.report)));
  if (threats.size !== 1 || threats.has(undefined))
    throw new Error(`report: the models' eval reports must share one threat model with ε, got ${[...threats].join(", ")}`);
  const images = [...new Set(reports.map((r) => r.report.images))].join(" / ");
  return robustnessSpec(
    reports.flatMap((r) => robustnessPoints(r.report, r.name)),
    {
      threat: [...threats][0],
      title: "Accuracy under attack",
      subtitle: `${source}; clean accuracy at ε = 0; ${images} test images`,
      width: 520,
      height: 300,
    },
  );
}

export const trainingPlot = (runs: TrainingRun[]): TopLevelSpec => trainingSpec(runs, { title: "Training curves of the models" });
