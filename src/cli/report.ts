// `robustlens report`: every representation experiment for each model, side by side, as DIR/index.html + figures + metrics.json.
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { writeAtomic } from "../data/node/atomic.js";
import { gridRows } from "../image/grid.js";
import { loadImages } from "../image/node/load-images.js";
import { writePng } from "../image/node/png.js";
import type { Tensor } from "../ir/tensor.js";
import { type Figure, type MetricRow, renderReport } from "../report/html.js";
import { type ModelResults, type ReportInputs, classify, reportWork, runModel } from "../report/experiments.js";
import { mean } from "../report/measure.js";
import { syntheticShapes } from "../report/shapes.js";
import { nodeExecutor } from "../runtime/node.js";
import { labelAgreement } from "../vis/metrics.js";
import { concatBatch } from "../ir/batch.js";
import { positiveInt, positiveNumber } from "./attack.js";
import { pick } from "./features.js";
import { progress } from "./progress.js";
import { ROBUSTNESS_SOURCES, type RobustnessSource, writeReportPlots } from "./report-plots.js";
import { type LoadedModel, chunkRows, fmt, gridScale, interleaveRows, loadModel } from "./vis-common.js";

export interface ReportFlags { models: string; data: string; out: string; ood?: string; judge?: string; title?: string; scale: string; count: string; robustness?: string; evalEps?: string }

const DATA_LIMIT = 2000;
const PAIRS = 2;

export async function reportCommand(f: ReportFlags): Promise<void> {
  const started = Date.now();
  const scale = positiveNumber(f.scale, "--scale")!, count = positiveInt(f.count, "--count");
  const source = (f.robustness ?? "auto") as RobustnessSource;
  if (!ROBUSTNESS_SOURCES.includes(source)) throw new Error(`--robustness must be one of ${ROBUSTNESS_SOURCES.join(", ")}, got "${f.robustness}"`);
  const paths = f.models.split(",").filter(Boolean);
  if (paths.length === 0) throw new Error("--models: give at least one model");
  const models = await Promise.all(paths.map(loadModel));
  const shape = models[0]!.shape;
  for (const m of models) {
    if (m.shape.channels !== shape.channels || m.shape.height !== shape.height || m.shape.width !== shape.width) {
      throw new Error(`--models: ${m.path} takes [${m.shape.channels},${m.shape.height},${m.shape.width}] but ${models[0]!.path} takes [${shape.channels},${shape.height},${shape.width}]; report models must share an input shape`);
    }
  }
  const judge = f.judge ? await loadModel(f.judge) : undefined;
  const data = await loadImages(f.data, shape, { limit: DATA_LIMIT });
  if (!data.labels) throw new Error(`--data "${f.data}" has no labels`);
  const labels = Array.from(data.labels);
  const targetIdx = onePerClass(labels, count);
  if (targetIdx.length < 2 * PAIRS) throw new Error(`--data "${f.data}": need at least ${2 * PAIRS} images, got ${labels.length}`);
  const ood = f.ood ? await loadImages(f.ood, shape, { limit: count }) : syntheticShapes(count, shape.channels, shape.height, shape.width);
  const targets = pick(data.x, targetIdx);
  const inputs: ReportInputs = {
    targets, targetLabels: targetIdx.map((i) => labels[i]!), ood: ood.x,
    from: pick(data.x, Array.from({ length: PAIRS }, (_, p) => targetIdx[2 * p]!)),
    to: pick(data.x, Array.from({ length: PAIRS }, (_, p) => targetIdx[2 * p + 1]!)),
    data: data.x, dataLabels: labels,
  };
  const cfg = { scale, features: 5, topK: 5, addCount: 5 };
  const per = reportWork(cfg);
  const bar = progress(per * models.length, "report");
  const results: ModelResults[] = [];
  for (const [k, m] of models.entries()) {
    const t0 = Date.now();
    results.push(await runModel(nodeExecutor, m.model, inputs, cfg, (d) => bar.update(k * per + d, { model: m.name })));
    process.stderr.write(`report: ${m.name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  bar.stop();

  // label agreement: an independent classifier (--judge, else the next model of the report) labels each model's inversions
  const judges = models.map((_, k) => judge ?? (models.length > 1 ? models[(k + 1) % models.length]! : undefined));
  const agreement = await Promise.all(results.map(async (r, k) => {
    const j = judges[k];
    return j ? labelAgreement(await classify(nodeExecutor, j.model, r.invert.x), inputs.targetLabels).rate : NaN;
  }));

  const dir = resolve(f.out);
  await mkdir(join(dir, "figures"), { recursive: true });
  const figures = await writeFigures(dir, models, results, inputs, data.x);
  const plots = await writeReportPlots(dir, { models, results, figures, source, data: f.data, eps: f.evalEps ?? "0.25,0.5,1,2" });
  const classes = models[0]!.classes ?? data.classes;
  const doc = {
    title: f.title ?? `robustlens report: ${models.map((m) => m.name).join(" vs ")}`,
    subtitle: `${f.data}: ${targetIdx.length} targets (${targetIdx.map((i) => classes?.[labels[i]!] ?? labels[i]).join(", ")}), ranking and accuracy on the first ${labels.length} test images; generated ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    models: models.map((m) => ({ name: m.name, detail: m.path })),
    metrics: metricRows(results, agreement, judges),
    figures,
    plots,
    notes: notes(results[0]!, scale, f, judges),
  };
  await writeAtomic(join(dir, "index.html"), renderReport(doc));
  await writeAtomic(join(dir, "metrics.json"), `${JSON.stringify({
    data: f.data, models: models.map((m, k) => ({ name: m.name, path: m.path, judge: judges[k]?.name ?? null, ...numbers(results[k]!, agreement[k]!) })),
  }, null, 2)}\n`);
  console.log(doc.metrics.map((r) => `${r.label.padEnd(44)} ${r.values.map((v) => v.padStart(14)).join(" ")}`).join("\n"));
  console.log(`report written to ${join(dir, "index.html")} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** The first image of each class in class order, then further images, until `count`. */
export function onePerClass(labels: readonly number[], count: number): number[] {
  const first = new Map<number, number>();
  labels.forEach((y, i) => { if (!first.has(y)) first.set(y, i); });
  const out = [...first.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i).slice(0, count);
  for (let i = 0; out.length < Math.min(count, labels.length); i++) if (!out.includes(i)) out.push(i);
  return out;
}

function numbers(r: ModelResults, agreement: number) {
  return {
    accuracy: r.accuracy,
    invert: { distance: r.invert.metrics.distance, rmse: r.invert.metrics.rmse, ssim: r.invert.metrics.ssim, labelAgreement: Number.isNaN(agreement) ? null : agreement },
    ood: { distance: r.ood.metrics.distance, rmse: r.ood.metrics.rmse, ssim: r.ood.metrics.ssim },
    interpolate: { distance: r.interpolate.distance },
    features: r.features.map((ft) => ({ feature: ft.feature, reached: ft.reached, reachedMaximizing: ft.reachedMaximizing, datasetMax: ft.datasetMax })),
    add: { feature: r.add.feature, level: r.add.level, before: r.add.before, after: r.add.after },
    steps: r.steps,
  };
}

const pct = (v: number) => (Number.isNaN(v) ? "n/a" : `${(100 * v).toFixed(1)}%`);

function metricRows(results: ModelResults[], agreement: number[], judges: (LoadedModel | undefined)[]): MetricRow[] {
  const col = (g: (r: ModelResults, k: number) => string) => results.map(g);
  return [
    { label: "clean accuracy", values: col((r) => pct(r.accuracy)), help: "on the report's dataset images" },
    { label: "inversion: relative rep distance ↓", values: col((r) => fmt(r.invert.metrics.distance)), help: "‖R(x) − R(t)‖ / ‖R(t)‖ after the search from noise" },
    { label: "inversion: SSIM to target ↑", values: col((r) => fmt(r.invert.metrics.ssim)), help: "structural similarity (11×11 Gaussian window), 1 = identical" },
    { label: "inversion: pixel RMSE ↓", values: col((r) => fmt(r.invert.metrics.rmse)) },
    { label: "inversion: label agreement ↑", values: col((_, k) => pct(agreement[k]!)), help: `an independent classifier (${judges.map((j) => j?.name ?? "none").join(" / ")}) gives the inversion the target's label` },
    { label: "OOD inversion: relative rep distance ↓", values: col((r) => fmt(r.ood.metrics.distance)) },
    { label: "OOD inversion: SSIM to target ↑", values: col((r) => fmt(r.ood.metrics.ssim)) },
    { label: "interpolation: relative rep distance ↓", values: col((r) => fmt(r.interpolate.distance)), help: "mean over frames, to (1−λ)R(a) + λR(b)" },
    { label: "feature visualization: reached / dataset max", values: col((r) => fmt(mean(r.features.map((f) => f.reached / f.datasetMax)), 2)), help: "activation reached from noise over the feature's largest activation on the dataset (mean over features)" },
    { label: "maximizing input: reached / dataset max", values: col((r) => fmt(mean(r.features.map((f) => f.reachedMaximizing / f.datasetMax)), 2)), help: "the same from a gray start with ε = 500" },
    { label: "feature addition: reached the level", values: col((r) => `${r.add.after.filter((v) => v >= r.add.level * 0.999).length}/${r.add.after.length}`), help: "images whose feature reached its dataset max after the search" },
  ];
}

async function writeFigures(dir: string, models: LoadedModel[], results: ModelResults[], inp: ReportInputs, data: Tensor<"float32">): Promise<Figure[]> {
  const scale = gridScale(models[0]!);
  const put = async (name: string, k: number, rows: Tensor<"float32">[]) => {
    const src = `figures/${k}-${name}.png`;
    await writePng(join(dir, src), gridRows(rows, { scale }));
    return src;
  };
  const n = inp.targets.shape[0]!;
  const fig = async (id: string, title: string, caption: string, rows: (r: ModelResults) => Tensor<"float32">[], note: (r: ModelResults) => string): Promise<Figure> => ({
    id, title, caption, cells: await Promise.all(results.map(async (r, k) => ({ src: await put(id, k, rows(r)), note: note(r) }))),
  });
  return [
    await fig("invert", "Inversion from noise", `Top row: targets; below: images found from noise (gray 0.5 + N(0, 0.05²)) whose representation matches theirs.`,
      (r) => interleaveRows([inp.targets, r.invert.x], n), (r) => `SSIM ${fmt(r.invert.metrics.ssim)}, distance ${fmt(r.invert.metrics.distance)}`),
    await fig("ood", "Out-of-distribution inversion", "Targets from outside the training classes (top) and their inversions (below).",
      (r) => interleaveRows([inp.ood, r.ood.x], inp.ood.shape[0]!), (r) => `SSIM ${fmt(r.ood.metrics.ssim)}, distance ${fmt(r.ood.metrics.distance)}`),
    await fig("interpolate", "Representation interpolation", "One row per pair: inversions of (1−λ)R(a) + λR(b), λ = 0 … 1, seeded by the pixel blend.",
      (r) => chunkRows(r.interpolate.x, r.interpolate.frames), (r) => `mean distance ${fmt(r.interpolate.distance)}`),
    await fig("features", "Feature visualization", "One row per feature (the highest-variance units of R): from noise, the maximizing input (gray start), then the 5 most and 5 least activating dataset images.",
      (r) => r.features.map((ft) => concatBatch([ft.fromNoise, ft.maximizing, pick(data, ft.top), pick(data, ft.bottom)])),
      (r) => `features ${r.features.map((ft) => ft.feature).join(", ")}; reached/max ${r.features.map((ft) => fmt(ft.reached / ft.datasetMax, 2)).join(", ")}`),
    await fig("add", "Feature addition", "Top: images; below: the same images after pushing the first visualized feature up to its dataset maximum.",
      (r) => interleaveRows([r.add.images, r.add.x], r.add.images.shape[0]!),
      (r) => `feature ${r.add.feature} to ${fmt(r.add.level, 2)}: ${r.add.before.map((v) => fmt(v, 2)).join(", ")} → ${r.add.after.map((v) => fmt(v, 2)).join(", ")}`),
    await fig("saliency", "Saliency", "Top: images; below: |∂ logit_y / ∂ x| for the true class (max over channels, per image normalized).",
      (r) => interleaveRows([inp.targets, r.saliency.map], n), () => ""),
  ];
}

function notes(r: ModelResults, scale: number, f: ReportFlags, judges: (LoadedModel | undefined)[]): string[] {
  const s = r.steps;
  return [
    `Searches: L2 steps per example (x ← x ± α·g/‖g‖₂), best iterate kept, fake-ReLU on the last ReLU before R; step counts ×${scale} of the paper's: inversion ${s.invert} (α = 1, ε = 1000), OOD ${s.ood}, interpolation ${s.interpolate} (α = 0.1), feature visualization ${s.visualize} (α = 1), maximizing inputs ${s.maximizing} (α = 0.5, ε = 500), feature addition ${s.add} (α = 0.1).`,
    `Data: ${f.data}; OOD targets: ${f.ood ?? "synthetic shapes"}; label agreement judges: ${judges.map((j) => j?.name ?? "none").join(", ")}.`,
    "Relative rep distance ‖R(x) − R(t)‖/‖R(t)‖; SSIM with an 11×11 Gaussian window (σ = 1.5) on [0,1] pixels, per channel, averaged; RMSE over pixels.",
    "Every model gets the same targets and seeds; all numbers are in metrics.json.",
  ];
}
