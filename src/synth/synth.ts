// Image synthesis with a (robust) classifier (docs/design.md §9): every task is targeted L2 PGD in pixel space, best kept.
import { type AttackLoss, targetedCeLoss } from "../attack/losses.js";
import { pgd } from "../attack/pgd.js";
import { concatBatch, sliceBatch } from "../ir/batch.js";
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";
import type { Model } from "../model/model.js";
import { type Runner, withSession } from "../runtime/session.js";
import { unitMask } from "../vis/representation.js";
import type { SearchOptions } from "../vis/search.js";
import { type ClassGaussians, sampleClassGaussians } from "./gaussian.js";
import { avgPoolDown, centerPatchMask, fillMasked, invertMask, maskBatch, nearestUp } from "./image-ops.js";
import { inpaintLoss, paintLoss } from "./losses.js";
import { SYNTH_CONSTANTS, type SynthTask, synthSettings } from "./settings.js";
import { REGION_INPUT, regionL2Threat } from "./threat.js";

/** Every setting of a synthesis search; unset ones come from the task's published setting, scaled to the input size. */
export type SynthOptions = SearchOptions;

export interface SynthResult {
  x: Tensor<"float32">;
  /** The images the search started from (Gaussian samples, corrupted or upsampled images, drawings, …). */
  seeds: Tensor<"float32">;
  /** Per example, the task's loss at the start and at the returned image (the objective it lowers). */
  lossBefore: Float32Array;
  loss: Float32Array;
  /** The settings used. */
  settings: { eps: number; stepSize: number; steps: number; fakeRelu: boolean };
}

const int64 = (v: readonly number[]) =>
  tensor(
    "int64",
    [v.length],
    BigInt64Array.from(v, (y) => BigInt(y)),
  ) as Tensor<"int64">;
const dimsOf = (x: Tensor) => x.data.length / Math.max(1, x.shape[0]!);

function checkLabels(labels: readonly number[], n: number, classes: number, what: string): void {
  if (labels.length !== n) throw new Error(`${what}: ${labels.length} labels for ${n} images`);
  for (const y of labels)
    if (!Number.isInteger(y) || y < 0 || y >= classes) throw new Error(`${what}: class ${y} is out of range 0..${classes - 1}`);
}

/** Number of classes the model outputs. */
export function classCount(model: Model): number {
  const c = model.graph(1).outputs[0]!.shape?.[1];
  if (typeof c !== "number") throw new Error(`model "${model.source}": logits have no static class count`);
  return c;
}

/** Runs the task's PGD over x0 in chunks; `feeds` are batch-first and sliced per chunk for `makeLoss`. */
async function search(
  task: SynthTask,
  runner: Runner,
  model: Model,
  x0: Tensor<"float32">,
  feeds: Record<string, Tensor>,
  makeLoss: (f: Record<string, Tensor>, rep: string) => AttackLoss,
  o: SynthOptions,
  region?: Tensor<"float32">,
): Promise<SynthResult> {
  const n = model.checkInput(x0, `${task}: seeds`);
  const d = synthSettings(task, dimsOf(x0));
  const settings = {
    eps: o.eps ?? d.eps,
    stepSize: o.stepSize ?? d.stepSize,
    steps: o.steps ?? d.steps,
    fakeRelu: o.fakeRelu ?? d.fakeRelu,
  };
  const bs = Math.max(1, Math.min(o.batchSize ?? 128, n)),
    chunks = Math.ceil(n / bs);
  return withSession(runner, async (session) => {
    const xs: Tensor<"float32">[] = [];
    const before = new Float32Array(n),
      after = new Float32Array(n);
    let done = 0;
    for (let lo = 0; lo < n; lo += bs) {
      const hi = Math.min(n, lo + bs);
      const setup = model.representation({ rep: o.rep, fakeRelu: settings.fakeRelu }, hi - lo);
      const loss = makeLoss(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, sliceBatch(t, lo, hi)])), setup.name);
      const chunk = sliceBatch(x0, lo, hi);
      const res = await pgd(session, model, chunk, {
        threat: region ? regionL2Threat(settings.eps) : { kind: "l2", eps: settings.eps },
        loss,
        feeds: region ? { [REGION_INPUT]: sliceBatch(region, lo, hi) } : undefined,
        steps: settings.steps,
        stepSize: settings.stepSize,
        keep: o.keep ?? "best",
        straightThrough: setup.straightThrough,
        signal: o.signal,
        onStep: (k, _t, info) => {
          if (k === 1) before.set(info.loss, lo);
          o.onStep?.(done + k, settings.steps * chunks, { ...info, offset: lo });
        },
      });
      done += settings.steps;
      xs.push(res.x);
      after.set(res.loss, lo);
    }
    return { x: concatBatch(xs), seeds: x0, lossBefore: before, loss: after, settings };
  });
}

/** Targeted cross-entropy from seeds towards per-image classes: the shared core of generation, super-resolution, translation, sketches. */
function towardsClasses(
  task: SynthTask,
  runner: Runner,
  model: Model,
  seeds: Tensor<"float32">,
  targets: readonly number[],
  o: SynthOptions,
): Promise<SynthResult> {
  checkLabels(targets, seeds.shape[0]!, classCount(model), task);
  return search(
    task,
    runner,
    model,
    seeds,
    { target_labels: int64(targets) },
    (f) => targetedCeLoss(f.target_labels as Tensor<"int64">),
    o,
  );
}

export interface GenerateRequest {
  classes: readonly number[];
  count: number;
  seed?: number;
}

/** Class-conditional generation: `count` Gaussian samples per class (class by class), pushed to their class. */
export async function generate(
  runner: Runner,
  model: Model,
  gaussians: ClassGaussians,
  req: GenerateRequest,
  o: SynthOptions = {},
): Promise<SynthResult & { labels: number[] }> {
  const [, c, h, w] = model.inputShape;
  if ([c, h, w].join() !== gaussians.shape.join())
    throw new Error(
      `generate: class Gaussians are for [${gaussians.shape.join(",")}] images, model "${model.source}" takes ${formatShape(model.inputShape)}`,
    );
  const s = sampleClassGaussians(gaussians, req.classes, req.count, req.seed ?? o.rngSeed ?? 0);
  return { ...(await towardsClasses("generate", runner, model, s.x, s.labels, o)), labels: s.labels };
}

export interface InpaintOptions extends SynthOptions {
  /** Weight λ of the penalty outside the mask (default 10). */
  lambda?: number;
  /**
   * Where steps move pixels: "mask" (default: only the missing pixels, the λ → ∞ limit of the outside penalty) or "image" (the
   * paper's form; at 28×28 the robust model then spends ~70% of the L2 budget outside the hole, see README).
   */
  region?: "image" | "mask";
}

/** The default inpainting mask: a centred square covering 60/224 of the side, as the paper's 60×60 ImageNet patch. */
export const defaultInpaintMask = (height: number, width: number) => centerPatchMask(height, width, SYNTH_CONSTANTS.inpaintPatchFraction);

/**
 * Inpainting: pixels under `mask` ([1|N,1,H,W], 1 = missing) are set to the image's per-channel mean, then CE(label) +
 * λ·mean((x_c − x)² outside the mask) is minimized from the corrupted image.
 */
export async function inpaint(
  runner: Runner,
  model: Model,
  images: Tensor<"float32">,
  labels: readonly number[],
  mask: Tensor<"float32">,
  o: InpaintOptions = {},
): Promise<SynthResult & { corrupted: Tensor<"float32">; mask: Tensor<"float32"> }> {
  const n = model.checkInput(images, "inpaint: images");
  checkLabels(labels, n, classCount(model), "inpaint");
  const [, , h, w] = images.shape as [number, number, number, number];
  const m = maskBatch(mask, n, h, w);
  const corrupted = fillMasked(images, m);
  const lambda = o.lambda ?? SYNTH_CONSTANTS.inpaintLambda;
  const res = await search(
    "inpaint",
    runner,
    model,
    corrupted,
    { l: int64(labels), c: corrupted, k: invertMask(m) },
    (f) => inpaintLoss(model.inputName, f.l as Tensor<"int64">, f.c as Tensor<"float32">, f.k as Tensor<"float32">, lambda),
    o,
    (o.region ?? "mask") === "mask" ? m : undefined,
  );
  return { ...res, corrupted, mask: m };
}

export interface SuperResolveOptions extends SynthOptions {
  /** Down/up factor (default 4: 28 → 7 → 28). */
  factor?: number;
}

/** Super-resolution: images average-pooled by `factor`, nearest-upsampled back, then pushed towards their class. */
export async function superResolve(
  runner: Runner,
  model: Model,
  images: Tensor<"float32">,
  labels: readonly number[],
  o: SuperResolveOptions = {},
): Promise<SynthResult & { lowRes: Tensor<"float32"> }> {
  model.checkInput(images, "super-resolve: images");
  const f = o.factor ?? SYNTH_CONSTANTS.superResolveFactor;
  const lowRes = avgPoolDown(images, f);
  return { ...(await towardsClasses("superResolve", runner, model, nearestUp(lowRes, f), labels, o)), lowRes };
}

/** Image-to-image translation: images pushed to another class (one for all, or one per image). */
export function translate(
  runner: Runner,
  model: Model,
  images: Tensor<"float32">,
  to: number | readonly number[],
  o: SynthOptions = {},
): Promise<SynthResult> {
  const n = model.checkInput(images, "translate: images");
  return towardsClasses("translate", runner, model, images, typeof to === "number" ? new Array<number>(n).fill(to) : to, o);
}

/** Sketch-to-image: drawings in [0,1] pushed to a class (one for all, or one per drawing). */
export function sketch(
  runner: Runner,
  model: Model,
  drawings: Tensor<"float32">,
  cls: number | readonly number[],
  o: SynthOptions = {},
): Promise<SynthResult> {
  const n = model.checkInput(drawings, "sketch: drawings");
  return towardsClasses("sketch", runner, model, drawings, typeof cls === "number" ? new Array<number>(n).fill(cls) : cls, o);
}

export interface PaintStroke {
  /** Feature (unit of R) to raise. */
  feature: number;
  /** Where to paint: [1|N,1,H,W], 1 = free to change. */
  mask: Tensor<"float32">;
}

export interface PaintOptions extends SynthOptions {
  /** Weight of R(x)_k (default 0.1) and of ‖x − x₀‖² outside the mask (default 90). */
  featureWeight?: number;
  outsideWeight?: number;
}

/**
 * Painting with features: strokes applied one after another, each maximizing a·R(x)_k − b·‖x − x₀‖² outside its mask,
 * x₀ the image before the stroke; steps move only the mask's pixels (regionL2Threat), so the penalty guards the box/ball only.
 */
export async function paint(
  runner: Runner,
  model: Model,
  images: Tensor<"float32">,
  strokes: readonly PaintStroke[],
  o: PaintOptions = {},
): Promise<SynthResult & { strokes: SynthResult[] }> {
  const n = model.checkInput(images, "paint: images");
  if (strokes.length === 0) throw new Error("paint: no strokes given");
  const [, , h, w] = images.shape as [number, number, number, number];
  const rep = model.representation({ rep: o.rep });
  const weights = {
    feature: o.featureWeight ?? SYNTH_CONSTANTS.paintFeatureWeight,
    outside: o.outsideWeight ?? SYNTH_CONSTANTS.paintOutsideWeight,
  };
  for (const v of Object.values(weights))
    if (!(v >= 0 && Number.isFinite(v))) throw new Error(`paint: weights must be finite and ≥ 0, got ${JSON.stringify(weights)}`);
  const done: SynthResult[] = [];
  let x = images;
  for (const s of strokes) {
    const region = maskBatch(s.mask, n, h, w),
      keep = invertMask(region);
    const units = unitMask(rep.shape, new Array<number>(n).fill(s.feature));
    const res = await search(
      "paint",
      runner,
      model,
      x,
      { u: units, r: x, k: keep },
      (f, name) => paintLoss(model.inputName, name, f.u as Tensor<"float32">, f.r as Tensor<"float32">, f.k as Tensor<"float32">, weights),
      o,
      region,
    );
    done.push(res);
    x = res.x;
  }
  // lossBefore/loss are the last stroke's objective (each stroke has its own)
  return { ...done[done.length - 1]!, seeds: images, strokes: done };
}
