// The paper's experiments as data (browser-safe): each has an id, a title, a caption and a run that returns its figure
// rows and numbers for one model. The HTML report, the CLI and the explorer all consume this list.
import { argmaxRows } from "../attack/losses.js";
import { chunkRows, concatBatch, interleaveRows, pickBatch, sliceBatch } from "../ir/batch.js";
import type { Tensor } from "../ir/tensor.js";
import type { Model } from "../model/model.js";
import type { Runner } from "../runtime/session.js";
import { addFeature, rankByFeature, visualizeFeature } from "../vis/features.js";
import { interpolate, invert } from "../vis/invert.js";
import { featureActivations, representationOf, unitMask } from "../vis/representation.js";
import { saliency } from "../vis/saliency.js";
import { type SearchOptions, VIS_DEFAULTS } from "../vis/search.js";
import { PUBLISHED } from "../synth/settings.js";
import { inversionMetrics, mean } from "./measure.js";
import { SYNTH_EXPERIMENTS } from "./synth-experiments.js";

/** Images shared by every model of a report (already in the models' common input shape). */
export interface ReportInputs {
  /** In-distribution targets with their true labels. */
  targets: Tensor<"float32">;
  targetLabels: number[];
  /** Out-of-distribution targets. */
  ood: Tensor<"float32">;
  /** Interpolation endpoints (pairs a_i → b_i). */
  from: Tensor<"float32">;
  to: Tensor<"float32">;
  /** Labelled dataset images: accuracy, and the top/bottom activating images of each feature. */
  data: Tensor<"float32">;
  dataLabels: number[];
}

export interface ReportConfig {
  /** Multiplies the paper's step counts (1 = the paper's settings). */
  scale: number;
  /** Features visualized per model. */
  features: number;
  /** Top and bottom dataset images per feature. */
  topK: number;
  /** Images that get a feature added. */
  addCount: number;
  batchSize?: number;
}

export type ReportSteps = Record<
  "invert" | "ood" | "interpolate" | "visualize" | "maximizing" | "add" | "generate" | "inpaint" | "superResolve" | "translate" | "sketch",
  number
>;

/** Step counts of every phase at a scale (each at least 1). */
export function reportSteps(scale: number): ReportSteps {
  const s = (k: number) => Math.max(1, Math.round(k * scale));
  return {
    invert: s(VIS_DEFAULTS.invert.steps),
    ood: s(VIS_DEFAULTS.invert.steps),
    interpolate: s(VIS_DEFAULTS.interpolate.steps),
    visualize: s(VIS_DEFAULTS.visualizeFeature.steps),
    maximizing: s(VIS_DEFAULTS.maximizingInput.steps),
    add: s(VIS_DEFAULTS.addFeature.steps),
    generate: s(PUBLISHED.generate.steps),
    inpaint: s(PUBLISHED.inpaint.steps),
    superResolve: s(PUBLISHED.superResolve.steps),
    translate: s(PUBLISHED.translate.steps),
    sketch: s(PUBLISHED.sketch.steps),
  };
}

/** What an experiment sees for one model. */
export interface ExperimentContext {
  runner: Runner;
  model: Model;
  inputs: ReportInputs;
  cfg: ReportConfig;
  steps: ReportSteps;
  /** Search options for a phase of `steps` steps, wired to the run's progress. */
  search(steps: number): SearchOptions;
  /** Results of the experiments that ran before this one, for this model. */
  earlier: ReadonlyMap<string, ExperimentResult>;
}

export interface ExperimentResult {
  /** The figure's grid rows for this model (absent: the experiment has no figure). */
  rows?: Tensor<"float32">[];
  /** A line under the model's figure. */
  note?: string;
  /** Numbers by name (they go to metrics.json; the metric table picks from them). */
  metrics: Record<string, number | number[]>;
  /** Images an independent classifier should give these labels (their rate becomes metrics.labelAgreement; with `score`, metrics.judgeScore too; `baseline`'s rate (the search's start) metrics.labelAgreementBaseline). */
  judged?: { x: Tensor<"float32">; labels: number[]; score?: boolean; baseline?: Tensor<"float32"> };
  /** Values later experiments read (e.g. the chosen features). */
  data?: unknown;
  /** Objective per step of the experiment's searches (mean over examples, at each step's starting iterate), by curve name. */
  curves?: Record<string, number[]>;
}

/** How one of an experiment's objective curves reads (the report plots it beside the figure, every model on one axis). */
export interface CurveDef {
  name: string;
  title: string;
  yTitle: string;
  logY?: boolean;
}

export interface Experiment {
  readonly id: string;
  readonly title: string;
  /** How to read the figure (what its rows and columns are). */
  readonly caption: string;
  /** Optimization steps it runs at these step counts (progress bars). */
  work(s: ReportSteps): number;
  /** The objective curves its results carry. */
  readonly curves?: readonly CurveDef[];
  run(ctx: ExperimentContext): Promise<ExperimentResult>;
}

/** The features with the largest activation variance over the data: units that actually vary between images. */
export function pickFeatures(rep: Tensor<"float32">, repShape: readonly number[], k: number): number[] {
  const units = repShape[0]!;
  const variance = Array.from({ length: units }, (_, f) => {
    const a = featureActivations(rep, unitMask(repShape, [f]));
    const m = mean(a);
    return mean(Array.from(a, (v) => (v - m) ** 2));
  });
  return Array.from(variance.keys())
    .sort((i, j) => variance[j]! - variance[i]! || i - j)
    .slice(0, Math.min(k, units));
}

/** Class predictions of a model for a batch, in chunks. */
export async function classify(runner: Runner, model: Model, x: Tensor<"float32">): Promise<number[]> {
  return argmaxRows(await representationOf(runner, model, x, { rep: model.outputName, batchSize: 256 }));
}

/**
 * Search options that also record, per step, every example's loss (SearchOptions.onStep's info, placed by chunk offset);
 * `mean(f)` is the mean over the `examples` of f(loss, example) per step.
 */
export function traceSearch(
  o: SearchOptions,
  examples: number,
): { options: SearchOptions; mean(f?: (v: number, i: number) => number): number[] } {
  const steps = o.steps;
  if (!steps) throw new Error("internal: traceSearch needs the search's step count");
  const rows: Float64Array[] = [];
  return {
    options: {
      ...o,
      onStep: (done, total, info) => {
        o.onStep?.(done, total, info);
        const step = (done - 1) % steps;
        const row = rows[step] ?? (rows[step] = new Float64Array(examples));
        row.set(info.loss, info.offset);
      },
    },
    mean: (f = (v) => v) => rows.map((r) => mean(Array.from(r, f))),
  };
}

const DISTANCE: CurveDef = { name: "distance", title: "Objective per step", yTitle: "‖R(x) − R(t)‖ / ‖R(t)‖", logY: true };

const f3 = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

export interface FeatureFigure {
  feature: number;
  reached: number;
  reachedMaximizing: number;
  datasetMax: number;
  top: number[];
  bottom: number[];
}

const accuracy: Experiment = {
  id: "accuracy",
  title: "Clean accuracy",
  caption: "",
  work: () => 0,
  run: async ({ runner, model, inputs }) => {
    const pred = await classify(runner, model, inputs.data);
    return { metrics: { accuracy: mean(pred.map((p, i) => (p === inputs.dataLabels[i] ? 1 : 0))) } };
  },
};

/** Inversion of `targets` from noise: the figure interleaves targets and inversions; judged by the target labels. */
const inversion = (
  id: string,
  title: string,
  caption: string,
  targets: (i: ReportInputs) => Tensor<"float32">,
  phase: "invert" | "ood",
  rngSeed?: number,
  judge = false,
): Experiment => ({
  id,
  title,
  caption,
  work: (s) => s[phase],
  curves: [DISTANCE],
  run: async ({ runner, model, inputs, steps, search }) => {
    const t = targets(inputs);
    const tr = traceSearch(search(steps[phase]), t.shape[0]!);
    const r = await invert(runner, model, t, { ...tr.options, seed: "noise", rngSeed });
    const m = inversionMetrics(t, r.x, r.distance);
    return {
      rows: interleaveRows([t, r.x], t.shape[0]!),
      note: `SSIM ${f3(m.ssim)}, distance ${f3(m.distance)}`,
      metrics: { distance: m.distance, rmse: m.rmse, ssim: m.ssim },
      judged: judge ? { x: r.x, labels: inputs.targetLabels } : undefined,
      curves: { distance: tr.mean() },
    };
  },
});

const interpolation: Experiment = {
  id: "interpolate",
  title: "Representation interpolation",
  caption: "One row per pair: inversions of (1−λ)R(a) + λR(b), λ = 0 … 1, seeded by the pixel blend.",
  work: (s) => s.interpolate,
  curves: [{ ...DISTANCE, yTitle: "‖R(x) − R_λ‖ / ‖R_λ‖" }],
  run: async ({ runner, model, inputs, steps, search }) => {
    const frames = VIS_DEFAULTS.interpolate.frames;
    const tr = traceSearch(search(steps.interpolate), frames * inputs.from.shape[0]!);
    const r = await interpolate(runner, model, inputs.from, inputs.to, { ...tr.options, frames });
    const distance = mean(r.distance);
    return { rows: chunkRows(r.x, frames), note: `mean distance ${f3(distance)}`, metrics: { distance }, curves: { distance: tr.mean() } };
  },
};

const features: Experiment = {
  id: "features",
  title: "Feature visualization",
  caption:
    "One row per feature (the highest-variance units of R): from noise, the maximizing input (gray start), then the 5 most and 5 least activating dataset images.",
  work: (s) => s.visualize + s.maximizing,
  curves: [
    { name: "visualize", title: "Activation from noise", yTitle: "activation / dataset max" },
    { name: "maximizing", title: "Maximizing input (gray start)", yTitle: "activation / dataset max" },
  ],
  run: async ({ runner, model, inputs, cfg, steps, search }) => {
    const info = model.representation();
    const reps = await representationOf(runner, model, inputs.data, { batchSize: 256 });
    const units = pickFeatures(reps, info.shape, cfg.features);
    const trNoise = traceSearch(search(steps.visualize), units.length);
    const noise = await visualizeFeature(runner, model, units, "noise", { ...trNoise.options, rngSeed: 2 });
    const d = VIS_DEFAULTS.maximizingInput;
    const trMax = traceSearch(search(steps.maximizing), units.length);
    const maxi = await visualizeFeature(runner, model, units, "gray", { ...trMax.options, eps: d.eps, stepSize: d.stepSize });
    const figs: FeatureFigure[] = units.map((f, k) => {
      const r = rankByFeature(featureActivations(reps, unitMask(info.shape, [f])), cfg.topK);
      return {
        feature: f,
        reached: noise.objective[k]!,
        reachedMaximizing: maxi.objective[k]!,
        datasetMax: r.activations[r.top[0]!]!,
        top: r.top,
        bottom: r.bottom,
      };
    });
    return {
      rows: figs.map((ft, k) =>
        concatBatch([
          sliceBatch(noise.x, k, k + 1),
          sliceBatch(maxi.x, k, k + 1),
          pickBatch(inputs.data, ft.top),
          pickBatch(inputs.data, ft.bottom),
        ]),
      ),
      note: `features ${units.join(", ")}; reached/max ${figs.map((ft) => f3(ft.reached / ft.datasetMax, 2)).join(", ")}`,
      metrics: {
        features: units,
        reached: figs.map((f) => f.reached),
        reachedMaximizing: figs.map((f) => f.reachedMaximizing),
        datasetMax: figs.map((f) => f.datasetMax),
        reachedOverMax: mean(figs.map((f) => f.reached / f.datasetMax)),
        maximizingOverMax: mean(figs.map((f) => f.reachedMaximizing / f.datasetMax)),
      },
      data: figs,
      // as a fraction of each unit's largest activation on the data: comparable between models
      curves: { visualize: trNoise.mean((v, k) => v / figs[k]!.datasetMax), maximizing: trMax.mean((v, k) => v / figs[k]!.datasetMax) },
    };
  },
};

const addition: Experiment = {
  id: "add",
  title: "Feature addition",
  caption: "Top: images; below: the same images after pushing the first visualized feature up to its dataset maximum.",
  work: (s) => s.add,
  curves: [{ name: "level", title: "Objective per step", yTitle: "min(activation, level) / level" }],
  run: async ({ runner, model, inputs, cfg, steps, search, earlier }) => {
    // the first visualized feature, pushed up to its strongest activation on real data
    const f0 = (earlier.get("features")?.data as FeatureFigure[] | undefined)?.[0];
    if (!f0) throw new Error("internal: feature addition runs after feature visualization");
    const n = Math.min(cfg.addCount, inputs.targets.shape[0]!);
    const images = sliceBatch(inputs.targets, 0, n);
    const mask = unitMask(model.representation().shape, [f0.feature]);
    const before = Array.from(featureActivations(await representationOf(runner, model, images), mask));
    const tr = traceSearch(search(steps.add), n);
    const added = await addFeature(runner, model, images, f0.feature, { ...tr.options, level: f0.datasetMax });
    const after = Array.from(featureActivations(await representationOf(runner, model, added.x), mask));
    return {
      rows: interleaveRows([images, added.x], n),
      note: `feature ${f0.feature} to ${f3(f0.datasetMax, 2)}: ${before.map((v) => f3(v, 2)).join(", ")} → ${after.map((v) => f3(v, 2)).join(", ")}`,
      metrics: {
        feature: f0.feature,
        level: f0.datasetMax,
        before,
        after,
        reachedLevel: after.filter((v) => v >= f0.datasetMax * 0.999).length,
      },
      // the capped loss is min(activation − level, 0): activation / level, capped at 1
      curves: { level: tr.mean((v) => (v + f0.datasetMax) / f0.datasetMax) },
    };
  },
};

const saliencyMaps: Experiment = {
  id: "saliency",
  title: "Saliency",
  caption: "Top: images; below: |∂ logit_y / ∂ x| for the true class (max over channels, per image normalized).",
  work: () => 0,
  run: async ({ runner, model, inputs }) => {
    const s = await saliency(runner, model, inputs.targets, inputs.targetLabels);
    return { rows: interleaveRows([inputs.targets, s.map], inputs.targets.shape[0]!), metrics: {} };
  },
};

/** Every experiment of the report, in the order they run and appear. */
export const EXPERIMENTS: readonly Experiment[] = [
  accuracy,
  inversion(
    "invert",
    "Inversion from noise",
    "Top row: targets; below: images found from noise (gray 0.5 + N(0, 0.05²)) whose representation matches theirs.",
    (i) => i.targets,
    "invert",
    undefined,
    true,
  ),
  inversion(
    "ood",
    "Out-of-distribution inversion",
    "Targets from outside the training classes (top) and their inversions (below).",
    (i) => i.ood,
    "ood",
    1,
  ),
  interpolation,
  features,
  addition,
  saliencyMaps,
  ...SYNTH_EXPERIMENTS,
];
