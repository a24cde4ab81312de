// The synthesis experiments of the report (docs/design.md §9): class-conditional generation and inpainting, per model.
import { pickBatch } from "../ir/batch.js";
import type { Tensor } from "../ir/tensor.js";
import { type ClassGaussians, fitClassGaussians } from "../synth/gaussian.js";
import { restorationScores } from "../synth/scores.js";
import { defaultInpaintMask, generate, inpaint } from "../synth/synth.js";
import type { Experiment } from "./experiments.js";

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
    const avg = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    return {
      rows,
      note: `cross-entropy ${f3(avg(r.lossBefore))} → ${f3(avg(r.loss))}`,
      metrics: { lossBefore: avg(r.lossBefore), loss: avg(r.loss), eps: r.settings.eps, steps: r.settings.steps },
      judged: { x: r.x, labels: r.labels, score: true },
    };
  },
};

export const inpainting: Experiment = {
  id: "inpaint",
  title: "Inpainting",
  caption:
    "Rows: images, the same with a centred square (60/224 of the side) set to the image mean, and the model's inpainting (minimize CE(label) + 10·mean((x_c − x)² outside the square), fake ReLU).",
  work: (s) => s.inpaint,
  run: async ({ runner, model, inputs, steps, search }) => {
    const [, , h, w] = inputs.targets.shape as [number, number, number, number];
    const r = await inpaint(runner, model, inputs.targets, inputs.targetLabels, defaultInpaintMask(h, w), search(steps.inpaint));
    const s = restorationScores(inputs.targets, r.x, r.corrupted, r.mask);
    return {
      rows: [inputs.targets, r.corrupted, r.x],
      note: `masked region: RMSE ${f3(s.rmse)} (corrupted ${f3(s.rmseCorrupted)}), SSIM ${f3(s.ssim)} (corrupted ${f3(s.ssimCorrupted)})`,
      metrics: { rmse: s.rmse, rmseCorrupted: s.rmseCorrupted, ssim: s.ssim, ssimCorrupted: s.ssimCorrupted },
      judged: { x: r.x, labels: inputs.targetLabels },
    };
  },
};
