// Running the experiment list for several models and turning the results into the report's table, figures and numbers.
import type { Model } from "../model/model.js";
import type { Runner } from "../runtime/session.js";
import { labelAgreement } from "../vis/metrics.js";
import type { SearchOptions } from "../vis/search.js";
import { argmaxRows } from "../attack/losses.js";
import { inceptionScore } from "../synth/scores.js";
import { representationOf } from "../vis/representation.js";
import { EXPERIMENTS, type Experiment, type ExperimentResult, type ReportConfig, type ReportInputs, reportSteps } from "./experiments.js";
import type { Figure, MetricRow, ReportDoc } from "./html.js";
import { SYNTH_METRICS } from "./synth-experiments.js";

export interface ReportModel {
  name: string;
  model: Model;
  detail?: string;
}

export interface ModelRun {
  name: string;
  /** Results by experiment id. */
  results: Map<string, ExperimentResult>;
  /** Name of the model that judged this one's images (label agreement), if any. */
  judge?: string;
}

/** Optimization steps of one model's run (for a progress bar). */
export function reportWork(cfg: ReportConfig, experiments: readonly Experiment[] = EXPERIMENTS): number {
  const s = reportSteps(cfg.scale);
  return experiments.reduce((t, e) => t + e.work(s), 0);
}

/** Runs every experiment for one model; `onStep` sees the steps done so far in this model's run. */
export async function runModel(
  runner: Runner,
  model: Model,
  inputs: ReportInputs,
  cfg: ReportConfig,
  o: { experiments?: readonly Experiment[]; onStep?: (done: number) => void } = {},
): Promise<Map<string, ExperimentResult>> {
  const steps = reportSteps(cfg.scale);
  const bs = cfg.batchSize ?? 128;
  let base = 0;
  // the phases run one after another; a phase's progress is scaled to its steps
  const search = (n: number): SearchOptions => {
    const start = base;
    base += n;
    return { steps: n, batchSize: bs, onStep: (d, total) => o.onStep?.(start + Math.round((d / total) * n)) };
  };
  const results = new Map<string, ExperimentResult>();
  for (const e of o.experiments ?? EXPERIMENTS)
    results.set(e.id, await e.run({ runner, model, inputs, cfg, steps, search, earlier: results }));
  return results;
}

/**
 * Runs the experiments for every model, then lets a judge label each model's judged images: `judges[k]`, else the next
 * model of the report (an independent classifier, as the paper's label agreement needs).
 */
export async function runReport(
  runner: Runner,
  models: readonly ReportModel[],
  inputs: ReportInputs,
  cfg: ReportConfig,
  o: {
    experiments?: readonly Experiment[];
    judges?: readonly (ReportModel | undefined)[];
    onModel?: (k: number, done: number) => void;
    onModelDone?: (k: number) => void;
  } = {},
): Promise<ModelRun[]> {
  const runs: ModelRun[] = [];
  for (const [k, m] of models.entries()) {
    runs.push({
      name: m.name,
      results: await runModel(runner, m.model, inputs, cfg, { experiments: o.experiments, onStep: (d) => o.onModel?.(k, d) }),
    });
    o.onModelDone?.(k);
  }
  for (const [k, run] of runs.entries()) {
    const judge = o.judges?.[k] ?? (models.length > 1 ? models[(k + 1) % models.length] : undefined);
    if (!judge) continue;
    run.judge = judge.name;
    for (const r of run.results.values()) {
      if (!r.judged) continue;
      const logits = await representationOf(runner, judge.model, r.judged.x, { rep: judge.model.outputName, batchSize: 256 });
      r.metrics.labelAgreement = labelAgreement(argmaxRows(logits), r.judged.labels).rate;
      if (r.judged.score) r.metrics.judgeScore = inceptionScore(logits);
      if (r.judged.baseline) {
        const b = await representationOf(runner, judge.model, r.judged.baseline, { rep: judge.model.outputName, batchSize: 256 });
        r.metrics.labelAgreementBaseline = labelAgreement(argmaxRows(b), r.judged.labels).rate;
      }
    }
  }
  return runs;
}

/** A metric table row: which experiment's number, how it reads. */
export interface MetricDef {
  label: string;
  experiment: string;
  metric: string;
  format: "pct" | "num" | "ratio" | "count";
  help?: string;
}

export const METRICS: readonly MetricDef[] = [
  { label: "clean accuracy", experiment: "accuracy", metric: "accuracy", format: "pct", help: "on the report's dataset images" },
  {
    label: "inversion: relative rep distance ↓",
    experiment: "invert",
    metric: "distance",
    format: "num",
    help: "‖R(x) − R(t)‖ / ‖R(t)‖ after the search from noise",
  },
  {
    label: "inversion: SSIM to target ↑",
    experiment: "invert",
    metric: "ssim",
    format: "num",
    help: "structural similarity (11×11 Gaussian window), 1 = identical",
  },
  { label: "inversion: pixel RMSE ↓", experiment: "invert", metric: "rmse", format: "num" },
  {
    label: "inversion: label agreement ↑",
    experiment: "invert",
    metric: "labelAgreement",
    format: "pct",
    help: "an independent classifier gives the inversion the target's label",
  },
  { label: "OOD inversion: relative rep distance ↓", experiment: "ood", metric: "distance", format: "num" },
  { label: "OOD inversion: SSIM to target ↑", experiment: "ood", metric: "ssim", format: "num" },
  {
    label: "interpolation: relative rep distance ↓",
    experiment: "interpolate",
    metric: "distance",
    format: "num",
    help: "mean over frames, to (1−λ)R(a) + λR(b)",
  },
  {
    label: "feature visualization: reached / dataset max",
    experiment: "features",
    metric: "reachedOverMax",
    format: "ratio",
    help: "activation reached from noise over the feature's largest activation on the dataset (mean over features)",
  },
  {
    label: "maximizing input: reached / dataset max",
    experiment: "features",
    metric: "maximizingOverMax",
    format: "ratio",
    help: "the same from a gray start with ε = 500",
  },
  {
    label: "feature addition: reached the level",
    experiment: "add",
    metric: "reachedLevel",
    format: "count",
    help: "images whose feature reached its dataset max after the search",
  },
  ...SYNTH_METRICS,
];

const formatValue = (d: MetricDef, r: ExperimentResult | undefined): string => {
  const v = r?.metrics[d.metric];
  if (typeof v !== "number" || Number.isNaN(v)) return "n/a";
  switch (d.format) {
    case "pct":
      return `${(100 * v).toFixed(1)}%`;
    case "num":
      return v.toFixed(3);
    case "ratio":
      return v.toFixed(2);
    case "count":
      return `${v}/${(r!.metrics.after as number[] | undefined)?.length ?? "?"}`;
  }
};

/** The metric table: one row per metric, one value per model. */
export function metricRows(runs: readonly ModelRun[], metrics: readonly MetricDef[] = METRICS): MetricRow[] {
  return metrics
    .filter((d) => runs.some((r) => r.results.has(d.experiment)))
    .map((d) => ({
      label: d.label,
      values: runs.map((r) => formatValue(d, r.results.get(d.experiment))),
      help: d.metric === "labelAgreement" ? `${d.help} (${runs.map((r) => r.judge ?? "none").join(" / ")})` : d.help,
    }));
}

/** Figures of every experiment that has one; `src(id, k)` is where model k's grid image lies, relative to the page. */
export function reportFigures(
  runs: readonly ModelRun[],
  src: (id: string, k: number) => string,
  experiments: readonly Experiment[] = EXPERIMENTS,
): Figure[] {
  return experiments
    .filter((e) => runs.some((r) => r.results.get(e.id)?.rows))
    .map((e) => ({
      id: e.id,
      title: e.title,
      caption: e.caption,
      cells: runs.map((r, k) => ({ src: src(e.id, k), note: r.results.get(e.id)?.note })),
    }));
}

/** Every number of every model's run (metrics.json), by experiment id. */
export function reportNumbers(
  runs: readonly ModelRun[],
): { name: string; judge: string | null; experiments: Record<string, Record<string, number | number[] | null>> }[] {
  return runs.map((r) => ({
    name: r.name,
    judge: r.judge ?? null,
    experiments: Object.fromEntries(
      [...r.results].map(([id, res]) => [
        id,
        Object.fromEntries(Object.entries(res.metrics).map(([k, v]) => [k, typeof v === "number" && !Number.isFinite(v) ? null : v])),
      ]),
    ),
  }));
}

export type { ReportDoc };
