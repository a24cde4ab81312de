// `robustlens generate | inpaint | super-resolve | translate | sketch | paint`: synthesis with a classifier (docs/design.md §9).
import { readImageFile } from "../image/node/png.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { chunkRows, interleaveRows } from "../ir/batch.js";
import { forward } from "../model/forward.js";
import { argmaxRows } from "../attack/losses.js";
import { centerPatchMask } from "../synth/image-ops.js";
import { inceptionScore, imageScores, restorationScores } from "../synth/scores.js";
import { SYNTH_CONSTANTS, gaussianFactor } from "../synth/settings.js";
import { type SynthResult, classCount, generate, inpaint, paint, sketch, superResolve, translate } from "../synth/synth.js";
import { session } from "./session.js";
import { classGaussians } from "./synth-gaussians.js";
import {
  type LoadedModel,
  type SearchFlags,
  checkVisOutputs,
  fmt,
  gridScale,
  loadModel,
  predict,
  readImagesArg,
  searchOptions,
  withProgress,
  writeOutputs,
} from "./vis-common.js";

const COLS = 10;
const say = (s: string) => process.stderr.write(`${s}\n`);

/** "0-9", "0,3,5" or class names from model.json ("Sneaker,Bag"). */
export function parseClasses(spec: string, count: number, names: readonly string[] | undefined, flag: string): number[] {
  const out: number[] = [];
  for (const part of spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const a = Number(range[1]),
        b = Number(range[2]);
      if (a > b) throw new Error(`${flag} "${spec}": range ${part} runs backwards`);
      for (let c = a; c <= b; c++) out.push(c);
    } else if (/^\d+$/.test(part)) out.push(Number(part));
    else {
      const k = names?.findIndex((n) => n.toLowerCase() === part.toLowerCase()) ?? -1;
      if (k < 0)
        throw new Error(
          `${flag} "${spec}": "${part}" is not a class index${names ? ` or one of ${names.join(", ")}` : " (the model has no model.json with class names)"}`,
        );
      out.push(k);
    }
  }
  if (out.length === 0) throw new Error(`${flag}: no classes given`);
  for (const c of out)
    if (c >= count) throw new Error(`${flag} "${spec}": class ${c} is out of range (model has ${count} classes, 0..${count - 1})`);
  return out;
}

const className = (m: LoadedModel, c: number) => m.classes?.[c] ?? String(c);

/** Judge agreement with expected classes, as a summary fragment ("" without a judge). */
async function judged(judgePath: string | undefined, x: Tensor<"float32">, expected: readonly number[], what: string): Promise<string> {
  if (!judgePath) return "";
  const judge = await loadModel(judgePath);
  const logits = await forward(session, judge.model, x);
  const pred = argmaxRows(logits);
  const rate = pred.filter((p, i) => p === expected[i]).length / pred.length;
  return `  ${what} (${judge.name}) ${(100 * rate).toFixed(1)}%  judge score ${fmt(inceptionScore(logits), 2)}`;
}

const lossLine = (r: SynthResult) => `loss ${fmt(mean(r.lossBefore))} → ${fmt(mean(r.loss))}`;
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const settingsLine = (r: SynthResult) =>
  `ε ${fmt(r.settings.eps)}, α ${fmt(r.settings.stepSize, 4)}, ${r.settings.steps} steps${r.settings.fakeRelu ? ", fake ReLU" : ""}`;

/** Labels for images: the dataset's, else the model's own predictions of them. */
async function labelsOf(m: LoadedModel, set: { x: Tensor<"float32">; labels?: Int32Array }): Promise<{ labels: number[]; source: string }> {
  return set.labels
    ? { labels: Array.from(set.labels), source: "dataset labels" }
    : { labels: await predict(m, set.x), source: "the model's predictions" };
}

/** A mask PNG (any picture; resized to the model input; > 0.5 = masked) as [1,1,H,W]. */
async function readMask(path: string, m: LoadedModel): Promise<Tensor<"float32">> {
  const { height, width } = m.shape;
  const px = await readImageFile(path, { channels: 1, height, width });
  const mask = tensor(
    "float32",
    [1, 1, height, width],
    Float32Array.from(px, (v) => (v > 0.5 ? 1 : 0)),
  ) as Tensor<"float32">;
  if (!mask.data.some((v) => v > 0)) throw new Error(`--mask ${path}: no pixel is white (> 0.5): the mask marks nothing`);
  return mask;
}

export interface GenerateFlags extends SearchFlags {
  model: string;
  classes: string;
  count: number;
  data: string;
  factor?: number;
  fitPerClass: number;
  judge?: string;
  out: string;
}

export async function generateCommand(f: GenerateFlags): Promise<void> {
  const o = searchOptions(f);
  await checkVisOutputs(f.out, [f.model, f.judge]);
  const m = await loadModel(f.model);
  const classes = parseClasses(f.classes, classCount(m.model), m.classes, "--classes");
  const count = f.count;
  const g = await classGaussians(
    f.out,
    m,
    { data: f.data, factor: f.factor ?? gaussianFactor([m.shape.channels, m.shape.height, m.shape.width]), maxPerClass: f.fitPerClass },
    say,
  );
  if (g.cached) say(`class Gaussians from ${g.path}`);
  const r = await withProgress("generate", o, (oo) => generate(session, m.model, g.gaussians, { classes, count, seed: o.rngSeed }, oo));
  const p = await writeOutputs(f.out, chunkRows(r.x, count), r.x, gridScale(m));
  const own = await predict(m, r.x);
  const line = `${r.x.shape[0]} images (${count} per class: ${classes.map((c) => className(m, c)).join(", ")}); ${settingsLine(r)}; ${lossLine(r)}; the model's own label agreement ${((100 * own.filter((y, i) => y === r.labels[i]).length) / own.length).toFixed(1)}%`;
  console.log(`${line}${await judged(f.judge, r.x, r.labels, "label agreement")}  (wrote ${p.png}, ${p.npy}; one row per class)`);
}

export interface InpaintFlags extends SearchFlags {
  model: string;
  images: string;
  mask?: string;
  lambda?: number;
  region?: "mask" | "image";
  limit?: number;
  judge?: string;
  out: string;
}

export async function inpaintCommand(f: InpaintFlags): Promise<void> {
  const o = searchOptions(f);
  await checkVisOutputs(f.out, [f.model, f.images, f.mask, f.judge]);
  const m = await loadModel(f.model);
  const set = await readImagesArg(f.images, m, f.limit);
  const { labels, source } = await labelsOf(m, set);
  const mask = f.mask ? await readMask(f.mask, m) : centerPatchMask(m.shape.height, m.shape.width, SYNTH_CONSTANTS.inpaintPatchFraction);
  const lambda = f.lambda;
  const r = await withProgress("inpaint", o, (oo) => inpaint(session, m.model, set.x, labels, mask, { ...oo, lambda, region: f.region }));
  const n = set.x.shape[0]!;
  const p = await writeOutputs(f.out, interleaveRows([set.x, r.corrupted, r.x], COLS), r.x, gridScale(m));
  const s = restorationScores(set.x, r.x, r.corrupted, r.mask);
  console.log(
    `${n} images inpainted (classes from ${source}); ${settingsLine(r)}; ${lossLine(r)}; masked region vs original: RMSE ${fmt(s.rmse)} (corrupted ${fmt(s.rmseCorrupted)}), SSIM ${fmt(s.ssim)} (corrupted ${fmt(s.ssimCorrupted)})${await judged(f.judge, r.x, labels, "label agreement")}  (wrote ${p.png}: originals, corrupted, inpainted; ${p.npy})`,
  );
}

export interface SuperResolveFlags extends SearchFlags {
  model: string;
  images: string;
  factor: number;
  limit?: number;
  judge?: string;
  out: string;
}

export async function superResolveCommand(f: SuperResolveFlags): Promise<void> {
  const o = searchOptions(f);
  await checkVisOutputs(f.out, [f.model, f.images, f.judge]);
  const m = await loadModel(f.model);
  const set = await readImagesArg(f.images, m, f.limit);
  const { labels, source } = await labelsOf(m, set);
  const factor = f.factor;
  const r = await withProgress("super-resolve", o, (oo) => superResolve(session, m.model, set.x, labels, { ...oo, factor }));
  const p = await writeOutputs(f.out, interleaveRows([set.x, r.seeds, r.x], COLS), r.x, gridScale(m));
  const s = imageScores(set.x, r.x, r.seeds);
  console.log(
    `${set.x.shape[0]} images, ${factor}× down and up (classes from ${source}); ${settingsLine(r)}; ${lossLine(r)}; vs original: RMSE ${fmt(s.rmse)} (nearest upsampling ${fmt(s.rmseBaseline)}), SSIM ${fmt(s.ssim)} (${fmt(s.ssimBaseline)})${await judged(f.judge, r.x, labels, "label agreement")}  (wrote ${p.png}: originals, upsampled, results; ${p.npy})`,
  );
}

export interface TowardsFlags extends SearchFlags {
  model: string;
  images: string;
  to?: string;
  class?: string;
  limit?: number;
  judge?: string;
  out: string;
}

/** translate --to CLASS and sketch --class CLASS: images pushed to a class. */
export async function towardsCommand(task: "translate" | "sketch", f: TowardsFlags): Promise<void> {
  const o = searchOptions(f);
  await checkVisOutputs(f.out, [f.model, f.images, f.judge]);
  const m = await loadModel(f.model);
  const flag = task === "translate" ? "--to" : "--class";
  const target = parseClasses((task === "translate" ? f.to : f.class) ?? "", classCount(m.model), m.classes, flag);
  if (target.length !== 1) throw new Error(`${flag}: give one class, got ${target.length}`);
  const set = await readImagesArg(f.images, m, f.limit);
  const fn = task === "translate" ? translate : sketch;
  const r = await withProgress(task, o, (oo) => fn(session, m.model, set.x, target[0]!, oo));
  const p = await writeOutputs(f.out, interleaveRows([set.x, r.x], COLS), r.x, gridScale(m));
  const n = set.x.shape[0]!,
    own = await predict(m, r.x);
  const reached = own.filter((y) => y === target[0]).length;
  console.log(
    `${n} ${task === "translate" ? "images" : "drawings"} → ${className(m, target[0]!)}; ${settingsLine(r)}; ${lossLine(r)}; the model assigns the target to ${reached}/${n}${await judged(f.judge, r.x, new Array<number>(n).fill(target[0]!), "judge assigns the target")}  (wrote ${p.png}: inputs above results; ${p.npy})`,
  );
}

export interface PaintFlags extends SearchFlags {
  model: string;
  images: string;
  feature: string;
  mask: string;
  featureWeight?: number;
  outsideWeight?: number;
  limit?: number;
  out: string;
}

export async function paintCommand(f: PaintFlags): Promise<void> {
  const o = searchOptions(f);
  await checkVisOutputs(f.out, [f.model, f.images, ...f.mask.split(",")]);
  const m = await loadModel(f.model);
  const features = f.feature.split(",").map((s) => positiveIntOrZero(s, "--feature"));
  const masks = await Promise.all(f.mask.split(",").map((path) => readMask(path, m)));
  if (masks.length !== features.length && masks.length !== 1)
    throw new Error(`--mask: ${masks.length} masks for ${features.length} features (give one, or one per feature)`);
  const set = await readImagesArg(f.images, m, f.limit);
  const strokes = features.map((feature, i) => ({ feature, mask: masks[masks.length === 1 ? 0 : i]! }));
  const r = await withProgress("paint", o, (oo) =>
    paint(session, m.model, set.x, strokes, { ...oo, featureWeight: f.featureWeight, outsideWeight: f.outsideWeight }),
  );
  const p = await writeOutputs(f.out, interleaveRows([set.x, ...r.strokes.map((s) => s.x)], COLS), r.x, gridScale(m));
  const per = r.strokes.map((s, i) => `feature ${features[i]}: objective ${fmt(mean(s.lossBefore))} → ${fmt(mean(s.loss))}`).join("; ");
  console.log(
    `${set.x.shape[0]} images, ${strokes.length} stroke(s); ${settingsLine(r)}; ${per}  (wrote ${p.png}: originals, then the image after each stroke; ${p.npy})`,
  );
}

function positiveIntOrZero(v: string, flag: string): number {
  const n = Number(v.trim());
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new Error(`${flag} must be a feature index (integer ≥ 0), got "${v}"`);
  return n;
}
