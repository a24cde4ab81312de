// The synthesis experiments of the report (docs/design.md §9): generation, inpainting, super-resolution, translation and
// sketches, per model; the judge (the other model of the report) labels what they make.
import { interleaveRows, pickBatch } from "../ir/batch.js";
import type { Tensor } from "../ir/tensor.js";
import { type ClassGaussians, fitClassGaussians } from "../synth/gaussian.js";
import { outlineSketch } from "../synth/image-ops.js";
import { imageScores, restorationScores } from "../synth/scores.js";
import { SYNTH_CONSTANTS } from "../synth/settings.js";
import { classCount, defaultInpaintMask, generate, inpaint, sketch, superResolve, translate } from "../synth/synth.js";
import type { Experiment } from "./experiments.js";
import type { MetricDef } from "./run.js";

/** Generated images per class in the report. */
export const GENERATE_PER_CLASS = 4;

// every model of a report starts from the same Gaussians, fitted once per dataset tensor
const fitted = new WeakMap<Tensor, ClassGaussians>();
const gaussiansFor = (data: Tensor<"float32">, labels: readonly number[]): ClassGaussians => {
  let g = fitted.get(data);
  if (!g) {
    g = fitClassGaussians(data, labels);
    fitted.set(data, g);
  }
  return g;
};

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : String(v));
const avg = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
const lossNote = (r: { lossBefore: Float32Array; loss: Float32Array }) => `cross-entropy ${f3(avg(r.lossBefore))} → ${f3(avg(r.loss))}`;
const lossMetrics = (r: { lossBefore: Float32Array; loss: Float32Array; settings: { eps: number; steps: number } }) => ({
  lossBefore: avg(r.lossBefore),
  loss: avg(r.loss),
  eps: r.settings.eps,
  steps: r.settings.steps,
});

export const generation: Experiment = {
  id: "generate",
  title: "Class-conditional generation",
  caption: `One column per class, ${GENERATE_PER_CLASS} rows: samples of a Gaussian fitted to each class's dataset images (full covariance + 1e-4·I), pushed to their class by minimizing its cross-entropy (L2 PGD, best iterate). The judge (the other model) labels them.`,
  work: (s) => s.generate,
  run: async ({ runner, model, inputs, steps, search }) => {
    const g = gaussiansFor(inputs.data, inputs.dataLabels);
    const r = await generate(runner, model, g, { classes: g.classes, count: GENERATE_PER_CLASS, seed: 0 }, search(steps.generate));
    // class-major result → rows of one sample of every class
    const k = g.classes.length;
    const rows = Array.from({ length: GENERATE_PER_CLASS }, (_, j) =>
      pickBatch(
        r.x,
        Array.from({ length: k }, (_, c) => c * GENERATE_PER_CLASS + j),
      ),
    );
    return {
      rows,
      note: lossNote(r),
      metrics: lossMetrics(r),
      judged: { x: r.x, labels: r.labels, score: true, baseline: r.seeds },
    };
  },
};

export const inpainting: Experiment = {
  id: "inpaint",
  title: "Inpainting",
  caption:
    "Rows: images, the same with a centred square (60/224 of the side) set to the image mean, and the model's inpainting (minimize CE(label) + 10·mean((x_c − x)² outside the square), fake ReLU, steps confined to the square).",
  work: (s) => s.inpaint,
  run: async ({ runner, model, inputs, steps, search }) => {
    const [, , h, w] = inputs.targets.shape as [number, number, number, number];
    const r = await inpaint(runner, model, inputs.targets, inputs.targetLabels, defaultInpaintMask(h, w), search(steps.inpaint));
    const s = restorationScores(inputs.targets, r.x, r.corrupted, r.mask);
    return {
      rows: [inputs.targets, r.corrupted, r.x],
      note: `masked region: RMSE ${f3(s.rmse)} (corrupted ${f3(s.rmseCorrupted)}), SSIM ${f3(s.ssim)} (corrupted ${f3(s.ssimCorrupted)})`,
      metrics: { rmse: s.rmse, rmseCorrupted: s.rmseCorrupted, ssim: s.ssim, ssimCorrupted: s.ssimCorrupted },
      judged: { x: r.x, labels: inputs.targetLabels, baseline: r.corrupted },
    };
  },
};

export const superResolution: Experiment = {
  id: "superResolve",
  title: "Super-resolution",
  caption: `Rows: images, the same average-pooled ${SYNTH_CONSTANTS.superResolveFactor}× and nearest-upsampled, and the model's super-resolution (minimize CE(label) from the upsampled image, fake ReLU).`,
  work: (s) => s.superResolve,
  run: async ({ runner, model, inputs, steps, search }) => {
    const r = await superResolve(runner, model, inputs.targets, inputs.targetLabels, search(steps.superResolve));
    const s = imageScores(inputs.targets, r.x, r.seeds);
    return {
      rows: [inputs.targets, r.seeds, r.x],
      note: `RMSE ${f3(s.rmse)} (upsampled ${f3(s.rmseBaseline)}), SSIM ${f3(s.ssim)} (upsampled ${f3(s.ssimBaseline)}); ${lossNote(r)}`,
      metrics: { ...lossMetrics(r), rmse: s.rmse, rmseUpsampled: s.rmseBaseline, ssim: s.ssim, ssimUpsampled: s.ssimBaseline },
      judged: { x: r.x, labels: inputs.targetLabels, baseline: r.seeds },
    };
  },
};

/** Translation target of an image of class y: the next class, y + 1 mod C (every pair of neighbouring classes appears). */
const nextClass = (labels: readonly number[], classes: number) => labels.map((y) => (y + 1) % classes);

export const translation: Experiment = {
  id: "translate",
  title: "Image-to-image translation",
  caption:
    "Rows: images of class y and the same pushed to class y + 1 (minimize its cross-entropy from the image). The judge's share of the target class is the number.",
  work: (s) => s.translate,
  run: async ({ runner, model, inputs, steps, search }) => {
    const to = nextClass(inputs.targetLabels, classCount(model));
    const r = await translate(runner, model, inputs.targets, to, search(steps.translate));
    return {
      rows: [inputs.targets, r.x],
      note: lossNote(r),
      metrics: lossMetrics(r),
      judged: { x: r.x, labels: to, baseline: inputs.targets },
    };
  },
};

export const sketching: Experiment = {
  id: "sketch",
  title: "Sketch-to-image",
  caption:
    "Rows: outline drawings of the images (the boundary of their silhouette above 0.5, white on black) and the drawings pushed to the image's class (minimize its cross-entropy from the drawing).",
  work: (s) => s.sketch,
  run: async ({ runner, model, inputs, steps, search }) => {
    const drawings = outlineSketch(inputs.targets);
    const r = await sketch(runner, model, drawings, inputs.targetLabels, search(steps.sketch));
    return {
      rows: interleaveRows([drawings, r.x], drawings.shape[0]!),
      note: lossNote(r),
      metrics: lossMetrics(r),
      judged: { x: r.x, labels: inputs.targetLabels, baseline: drawings },
    };
  },
};

/** The synthesis experiments, in the order they run and appear. */
export const SYNTH_EXPERIMENTS: readonly Experiment[] = [generation, inpainting, superResolution, translation, sketching];

const judgeRows = (id: string, task: string, of: string, baseline: string): MetricDef[] => [
  {
    label: `${task}: judge gives the target class ↑`,
    experiment: id,
    metric: "labelAgreement",
    format: "pct",
    help: `the judge (the other model) assigns ${of} the class it was pushed to`,
  },
  { label: `${task}: the same for ${baseline}`, experiment: id, metric: "labelAgreementBaseline", format: "pct" },
];

/** The metric table's synthesis rows. */
export const SYNTH_METRICS: readonly MetricDef[] = [
  ...judgeRows("generate", "generation", "a generated image", "the Gaussian seeds"),
  {
    label: "generation: judge score ↑",
    experiment: "generate",
    metric: "judgeScore",
    format: "num",
    help: "Inception-style exp E[KL(p(y|x) ‖ p(y))] of the judge's predictions (1 … number of classes)",
  },
  {
    label: "inpainting: masked-region RMSE ↓",
    experiment: "inpaint",
    metric: "rmse",
    format: "num",
    help: "to the original, over the square's pixels",
  },
  {
    label: "inpainting: corrupted input's RMSE",
    experiment: "inpaint",
    metric: "rmseCorrupted",
    format: "num",
    help: "the mean-filled square's, for comparison",
  },
  {
    label: "inpainting: SSIM around the region ↑",
    experiment: "inpaint",
    metric: "ssim",
    format: "num",
    help: "over the square's box grown to the 11×11 window",
  },
  { label: "inpainting: corrupted input's SSIM", experiment: "inpaint", metric: "ssimCorrupted", format: "num" },
  { label: "super-resolution: RMSE to the original ↓", experiment: "superResolve", metric: "rmse", format: "num", help: "whole image" },
  { label: "super-resolution: upsampled input's RMSE", experiment: "superResolve", metric: "rmseUpsampled", format: "num" },
  { label: "super-resolution: SSIM to the original ↑", experiment: "superResolve", metric: "ssim", format: "num" },
  { label: "super-resolution: upsampled input's SSIM", experiment: "superResolve", metric: "ssimUpsampled", format: "num" },
  ...judgeRows("translate", "translation", "a translated image", "the source images"),
  ...judgeRows("sketch", "sketch", "a finished sketch", "the raw drawings"),
];
