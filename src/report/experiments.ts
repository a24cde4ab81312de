// The report's experiments for one model (browser-safe): every figure of the paper, with the numbers behind it.
import { argmaxRows } from "../attack/losses.js";
import type { Tensor } from "../ir/tensor.js";
import type { Model } from "../model/model.js";
import type { Executor } from "../runtime/executor.js";
import { addFeature, rankByFeature, visualizeFeature } from "../vis/features.js";
import { interpolate, invert } from "../vis/invert.js";
import { featureActivations, representation, representationOf, unitMask } from "../vis/representation.js";
import { sliceBatch } from "../ir/batch.js";
import { saliency } from "../vis/saliency.js";
import { type SearchOptions, VIS_DEFAULTS } from "../vis/search.js";
import { type InversionMetrics, inversionMetrics, mean } from "./measure.js";

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

export interface FeatureFigure {
  feature: number;
  /** Visualization from noise (ε = 1000, α = 1) and the maximizing input (gray start, ε = 500, α = 0.5). */
  fromNoise: Tensor<"float32">;
  maximizing: Tensor<"float32">;
  reached: number;
  reachedMaximizing: number;
  datasetMax: number;
  top: number[];
  bottom: number[];
}

export interface ModelResults {
  accuracy: number;
  invert: { x: Tensor<"float32">; metrics: InversionMetrics };
  ood: { x: Tensor<"float32">; metrics: InversionMetrics };
  interpolate: { x: Tensor<"float32">; frames: number; distance: number };
  features: FeatureFigure[];
  add: { feature: number; level: number; images: Tensor<"float32">; x: Tensor<"float32">; before: number[]; after: number[] };
  saliency: { map: Tensor<"float32">; labels: number[] };
  /** Steps each phase ran (for the record). */
  steps: Record<string, number>;
  /** Per search, its objective at each step's starting iterate, averaged over the search's examples (see OBJECTIVES). */
  objectives: Record<ObjectiveId, number[]>;
}

/** The searches whose objective is traced per step. */
export type ObjectiveId = "invert" | "ood" | "interpolate" | "visualize" | "maximizing" | "add";

/** Per-example losses of one search, step by step (filled through SearchOptions.onLoss). */
class Trace {
  readonly rows: Float64Array[] = [];
  constructor(private readonly n: number) {}
  readonly onLoss = (step: number, loss: Float32Array, first: number): void => {
    const row = this.rows[step] ?? (this.rows[step] = new Float64Array(this.n));
    for (let i = 0; i < loss.length; i++) row[first + i] = loss[i]!;
  };
  /** Mean over examples per step of f(loss, example). */
  mean(f: (v: number, i: number) => number = (v) => v): number[] {
    return this.rows.map((r) => mean(Array.from(r, f)));
  }
}

/** Step counts of every phase at a scale (each at least 1). */
export function reportSteps(scale: number): Record<"invert" | "ood" | "interpolate" | "visualize" | "maximizing" | "add", number> {
  const s = (k: number) => Math.max(1, Math.round(k * scale));
  return {
    invert: s(VIS_DEFAULTS.invert.steps), ood: s(VIS_DEFAULTS.invert.steps), interpolate: s(VIS_DEFAULTS.interpolate.steps),
    visualize: s(VIS_DEFAULTS.visualizeFeature.steps), maximizing: s(VIS_DEFAULTS.maximizingInput.steps), add: s(VIS_DEFAULTS.addFeature.steps),
  };
}

/** Total optimization steps of one model's run (for a progress bar): each phase runs its steps once per chunk. */
export function reportWork(cfg: ReportConfig): number {
  const s = reportSteps(cfg.scale);
  return s.invert + s.ood + s.interpolate + s.visualize + s.maximizing + s.add;
}

/** The features with the largest activation variance over the data: units that actually vary between images. */
export function pickFeatures(rep: Tensor<"float32">, repShape: readonly number[], k: number): number[] {
  const units = repShape[0]!;
  const variance = Array.from({ length: units }, (_, f) => {
    const a = featureActivations(rep, unitMask(repShape, [f]));
    const m = mean(a);
    return mean(Array.from(a, (v) => (v - m) ** 2));
  });
  return Array.from(variance.keys()).sort((i, j) => variance[j]! - variance[i]! || i - j).slice(0, Math.min(k, units));
}

export async function runModel(
  exec: Executor, model: Model, inp: ReportInputs, cfg: ReportConfig, onStep: (done: number) => void = () => {},
): Promise<ModelResults> {
  const steps = reportSteps(cfg.scale);
  const bs = cfg.batchSize ?? 128;
  let base = 0;
  // the phases run one after another; onStep sees the total done so far
  const traces = new Map<ObjectiveId, Trace>();
  const phase = (n: number, id: ObjectiveId, examples: number): SearchOptions => {
    const start = base;
    base += n;
    const trace = new Trace(examples);
    traces.set(id, trace);
    return { steps: n, batchSize: bs, onStep: (d, total) => onStep(start + Math.round((d / total) * n)), onLoss: trace.onLoss };
  };
  const pred = await classify(exec, model, inp.data);
  const accuracy = mean(pred.map((p, i) => (p === inp.dataLabels[i] ? 1 : 0)));

  const inv = await invert(exec, model, inp.targets, { ...phase(steps.invert, "invert", inp.targets.shape[0]!), seed: "noise" });
  const ood = await invert(exec, model, inp.ood, { ...phase(steps.ood, "ood", inp.ood.shape[0]!), seed: "noise", rngSeed: 1 });
  const frames = VIS_DEFAULTS.interpolate.frames;
  const itp = await interpolate(exec, model, inp.from, inp.to, { ...phase(steps.interpolate, "interpolate", frames * inp.from.shape[0]!), frames });

  const info = representation(model);
  const reps = await representationOf(exec, model, inp.data, { batchSize: 256 });
  const features = pickFeatures(reps, info.shape, cfg.features);
  const noise = await visualizeFeature(exec, model, features, "noise", { ...phase(steps.visualize, "visualize", features.length), rngSeed: 2 });
  const d = VIS_DEFAULTS.maximizingInput;
  const maxi = await visualizeFeature(exec, model, features, "gray", { ...phase(steps.maximizing, "maximizing", features.length), eps: d.eps, stepSize: d.stepSize });
  const figs: FeatureFigure[] = features.map((f, k) => {
    const r = rankByFeature(featureActivations(reps, unitMask(info.shape, [f])), cfg.topK);
    return {
      feature: f, fromNoise: sliceBatch(noise.x, k, k + 1), maximizing: sliceBatch(maxi.x, k, k + 1), reached: noise.objective[k]!, reachedMaximizing: maxi.objective[k]!,
      datasetMax: r.activations[r.top[0]!]!, top: r.top, bottom: r.bottom,
    };
  });

  // feature addition: the first feature, pushed up to its strongest activation on real data
  const addN = Math.min(cfg.addCount, inp.targets.shape[0]!);
  const images = sliceBatch(inp.targets, 0, addN);
  const f0 = figs[0]!;
  const mask = unitMask(info.shape, [f0.feature]);
  const before = featureActivations(await representationOf(exec, model, images), mask);
  const added = await addFeature(exec, model, images, f0.feature, { ...phase(steps.add, "add", addN), level: f0.datasetMax });
  const after = featureActivations(await representationOf(exec, model, added.x), mask);

  const sal = await saliency(exec, model, inp.targets, inp.targetLabels);
  return {
    accuracy,
    invert: { x: inv.x, metrics: inversionMetrics(inp.targets, inv.x, inv.distance) },
    ood: { x: ood.x, metrics: inversionMetrics(inp.ood, ood.x, ood.distance) },
    interpolate: { x: itp.x, frames, distance: mean(itp.distance) },
    features: figs,
    add: { feature: f0.feature, level: f0.datasetMax, images, x: added.x, before: Array.from(before), after: Array.from(after) },
    saliency: { map: sal.map, labels: sal.labels },
    steps,
    // feature objectives as a fraction of the unit's largest activation on the data, comparable between models
    objectives: {
      invert: traces.get("invert")!.mean(), ood: traces.get("ood")!.mean(), interpolate: traces.get("interpolate")!.mean(),
      visualize: traces.get("visualize")!.mean((v, k) => v / figs[k]!.datasetMax), maximizing: traces.get("maximizing")!.mean((v, k) => v / figs[k]!.datasetMax),
      // the capped loss is min(activation − level, 0): activation / level, capped at 1
      add: traces.get("add")!.mean((v) => (v + f0.datasetMax) / f0.datasetMax),
    },
  };
}

/** Class predictions of a model for a batch, in chunks. */
export async function classify(exec: Executor, model: Model, x: Tensor<"float32">): Promise<number[]> {
  return argmaxRows(await representationOf(exec, model, x, { rep: model.outputName, batchSize: 256 }));
}

