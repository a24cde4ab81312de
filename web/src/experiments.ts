// The explorer's experiments as data: each model of a pair gets a live search, stepped in turn, then the report's metrics.
// Pure library code (no DOM, no Worker): the page's worker runs it on onnxruntime-web, tests run it on onnxruntime-node.
import {
  type Executor,
  Model,
  type Runner,
  Session,
  type Tensor,
  VIS_DEFAULTS,
  argmaxRows,
  ceLoss,
  defaultStepSize,
  exampleNoise,
  featureActivations,
  featureLoss,
  forward,
  labelAgreement,
  makeSeeds,
  paintLoss,
  REGION_INPUT,
  regionL2Threat,
  synthSettings,
  SYNTH_CONSTANTS,
  pickFeatures,
  rankByFeature,
  repTargetLoss,
  representationOf,
  resizeBatch,
  saliency,
  ssim,
  targetedCeLoss,
  tensor,
  threatModel,
  unitMask,
} from "../../src/index.js";
import { type LiveResult, LiveSearch, type LiveSpec } from "./live.js";

type Images = Tensor<"float32">;
interface Search {
  steps: number;
  stepSize: number;
  eps: number;
}

export type ExperimentSpec =
  /** Inversion of R(targets) from noise, gray or other images (seedImages); "ood" is the same on out-of-distribution targets. */
  | ({
      kind: "invert" | "ood";
      targets: Images;
      labels?: number[];
      seed: "noise" | "gray" | "images";
      seedImages?: Images;
      rngSeed: number;
    } & Search)
  | ({ kind: "interpolate"; a: Images; b: Images; frames: number } & Search)
  /** feature null: per model, the unit whose activation varies most over `data` (as the report picks). */
  | ({
      kind: "feature";
      feature: number | null;
      seed: "noise" | "gray";
      count: number;
      rngSeed: number;
      data: Images;
      topK: number;
    } & Search)
  /**
   * Painting with a feature (Santurkar et al. 2019): maximize 0.1·R(x)_k − 90·‖x − x₀‖² outside the brushed region (H·W in
   * [0,1]), steps confined to the region; feature null: per model the unit varying most over `data`.
   */
  | ({ kind: "paint"; image: Images; feature: number | null; region: Float32Array; data: Images } & Search)
  /** Sketch-to-image: drawings pushed to class `target` by minimizing its cross-entropy (the other model judges). */
  | ({ kind: "sketch"; drawing: Images; target: number } & Search)
  | {
      kind: "attack";
      images: Images;
      labels: number[];
      threat: "l2" | "linf";
      eps: number;
      steps: number;
      stepSize?: number;
      target?: number;
      randomStart: boolean;
      rngSeed: number;
    }
  | { kind: "saliency"; images: Images; labels?: number[] };

export type ExperimentKind = ExperimentSpec["kind"];

// the synthesis tasks' published settings, scaled to the zoo's 1×28×28 inputs (src/synth/settings.ts)
const synth28 = (task: "paint" | "sketch") => {
  const s = synthSettings(task, 28 * 28);
  return { eps: s.eps, stepSize: s.stepSize, steps: s.steps };
};

/** The paper's settings (VIS_DEFAULTS, DESIGN.md §4 and §9) with step counts cut so a pair runs in seconds in a browser. */
export const EXPLORER_DEFAULTS = {
  invert: { ...VIS_DEFAULTS.invert, steps: 200 },
  ood: { ...VIS_DEFAULTS.invert, steps: 200 },
  // the CIFAR step 0.1 moves 28×28 images too slowly for seconds-long runs: step 1 as for inversion
  interpolate: { ...VIS_DEFAULTS.interpolate, stepSize: 1, steps: 200 },
  feature: { ...VIS_DEFAULTS.visualizeFeature, steps: 100 },
  paint: synth28("paint"),
  // at the scaled ε (2.89, about the robust zoo models' training radius 1.25–2) a robust model resists by construction and
  // a drawing barely moves: ε 6, step 0.2 (README, "Image synthesis")
  sketch: { ...synth28("sketch"), eps: 6, stepSize: 0.2 },
  attack: { steps: 20 },
} as const;

export interface StepView {
  x: Images;
  /** Mean loss over the batch at the iterate before this step. */
  loss: number;
  /** Class probabilities [N, C] at the iterate before this step (attacks and sketches). */
  probs?: Float32Array;
}

export type Metrics = Record<string, number | number[]>;

export interface ModelOutcome {
  x: Images;
  /** The images the result is compared with (targets, attacked images, the painted image). */
  reference?: Images;
  /** Saliency maps [N,1,H,W]. */
  map?: Images;
  metrics: Metrics;
}

export interface Hooks {
  onStep?(step: number, total: number, perModel: StepView[]): void | Promise<void>;
  /** Awaited before every step: resolves at once while running, later when a paused run resumes; "stop" ends the run early. */
  gate?(): Promise<"go" | "stop">;
}

export interface ExperimentResult {
  experiment: ExperimentKind;
  steps: number;
  models: ModelOutcome[];
}

const mean = (a: ArrayLike<number>) => (a.length ? Array.from(a).reduce((s, v) => s + v, 0) / a.length : NaN);

/** Images resized and converted to the model's input (C, H, W). */
export function fitTo(model: Model, x: Images): Images {
  const [, c, h, w] = model.inputShape;
  if (typeof c !== "number" || typeof h !== "number" || typeof w !== "number") return x;
  return resizeBatch(x, { channels: c, height: h, width: w });
}

const predict = async (exec: Runner, model: Model, x: Images) => argmaxRows(await forward(exec, model, x));

function softmax(logits: Tensor): Float32Array {
  const [n, c] = logits.shape as [number, number];
  const out = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    let m = -Infinity,
      s = 0;
    for (let j = 0; j < c; j++) m = Math.max(m, Number(logits.data[i * c + j]));
    for (let j = 0; j < c; j++) s += out[i * c + j] = Math.exp(Number(logits.data[i * c + j]) - m);
    for (let j = 0; j < c; j++) out[i * c + j]! /= s;
  }
  return out;
}

/** Per example, (1−λ)·a + λ·b for λ = j/(frames−1): [frames, C, H, W] from one pair. */
function mix(a: Images, b: Images, lambdas: number[]): Images {
  const per = a.data.length,
    out = new Float32Array(per * lambdas.length);
  lambdas.forEach((l, j) => {
    for (let k = 0; k < per; k++) out[j * per + k] = (1 - l) * a.data[k]! + l * b.data[k]!;
  });
  return tensor("float32", [lambdas.length, ...a.shape.slice(1)], out) as Images;
}

interface Plan {
  live?: LiveSpec;
  finish(res: LiveResult | undefined): Promise<ModelOutcome>;
}

async function plan(exec: Session, model: Model, spec: ExperimentSpec): Promise<Plan> {
  const l2 = (s: Search) => ({ threat: { kind: "l2" as const, eps: s.eps }, stepSize: s.stepSize, keep: "best" as const });
  switch (spec.kind) {
    case "invert":
    case "ood": {
      const targets = fitTo(model, spec.targets),
        n = targets.shape[0]!;
      const setup = model.representation({}, n);
      const tRep = await representationOf(exec, model, targets, { rep: setup.name });
      const x0 =
        spec.seed === "images" && spec.seedImages
          ? makeSeeds(model, fitTo(model, spec.seedImages), n)
          : makeSeeds(model, spec.seed === "gray" ? "gray" : "noise", n, spec.rngSeed);
      return {
        live: { ...l2(spec), loss: repTargetLoss(setup.name, tRep), x0, straightThrough: setup.straightThrough },
        finish: async (r) => ({
          x: r!.x,
          reference: targets,
          metrics: { relDistance: mean(r!.loss), ssim: mean(ssim(r!.x, targets)), perExample: Array.from(r!.loss) },
        }),
      };
    }
    case "interpolate": {
      const a = fitTo(model, spec.a),
        b = fitTo(model, spec.b);
      if (!Number.isInteger(spec.frames) || spec.frames < 2)
        throw new Error(`interpolate: frames must be an integer ≥ 2, got ${spec.frames}`);
      const lambdas = Array.from({ length: spec.frames }, (_, j) => j / (spec.frames - 1));
      const setup = model.representation({}, spec.frames);
      const ra = await representationOf(exec, model, a, { rep: setup.name }),
        rb = await representationOf(exec, model, b, { rep: setup.name });
      return {
        live: {
          ...l2(spec),
          loss: repTargetLoss(setup.name, mix(ra, rb, lambdas)),
          x0: mix(a, b, lambdas),
          straightThrough: setup.straightThrough,
        },
        finish: async (r) => ({ x: r!.x, metrics: { relDistance: mean(r!.loss), lambdas } }),
      };
    }
    case "feature": {
      const setup = model.representation({}, spec.count);
      const unit = await chooseUnit(exec, model, spec.data, setup, spec.feature, spec.topK);
      const mask = unitMask(setup.shape, new Array<number>(spec.count).fill(unit.feature));
      const x0 = makeSeeds(model, spec.seed, spec.count, spec.rngSeed);
      return {
        live: { ...l2(spec), loss: featureLoss(setup.name, mask), x0, straightThrough: setup.straightThrough },
        finish: async (r) => ({
          x: r!.x,
          metrics: { feature: unit.feature, activation: mean(r!.loss), datasetMax: unit.datasetMax, top: unit.top, bottom: unit.bottom },
        }),
      };
    }
    case "paint": {
      const image = fitTo(model, spec.image);
      const setup = model.representation({}, 1);
      const unit = await chooseUnit(exec, model, spec.data, setup, spec.feature, 1);
      const units = unitMask(setup.shape, [unit.feature]);
      const [, , h, w] = image.shape as number[];
      const regionT = tensor("float32", [1, 1, h!, w!], spec.region) as Images;
      const keep = tensor(
        "float32",
        [1, 1, h!, w!],
        spec.region.map((v) => 1 - v),
      ) as Images;
      const weights = { feature: SYNTH_CONSTANTS.paintFeatureWeight, outside: SYNTH_CONSTANTS.paintOutsideWeight };
      const activation = async (x: Images) => featureActivations(await representationOf(exec, model, x, { rep: setup.name }), units)[0]!;
      const before = await activation(image);
      return {
        live: {
          // the library's paint(): normalized steps spent inside the region only
          threat: regionL2Threat(spec.eps),
          stepSize: spec.stepSize,
          keep: "best",
          loss: paintLoss(model.inputName, setup.name, units, image, keep, weights),
          x0: image,
          straightThrough: setup.straightThrough,
          feeds: { [REGION_INPUT]: regionT },
          region: spec.region,
        },
        finish: async (r) => {
          const after = await activation(r!.x);
          let outside = 0,
            inside = 0;
          const plane = spec.region.length;
          r!.x.data.forEach((v, i) => {
            const d = Math.abs(v - image.data[i]!);
            if (spec.region[i % plane] === 0) outside = Math.max(outside, d);
            else inside = Math.max(inside, d);
          });
          return {
            x: r!.x,
            reference: image,
            metrics: {
              feature: unit.feature,
              datasetMax: unit.datasetMax,
              featureBefore: before,
              featureAfter: after,
              maxChangeInside: inside,
              maxChangeOutside: outside,
            },
          };
        },
      };
    }
    case "sketch": {
      const drawing = fitTo(model, spec.drawing),
        n = drawing.shape[0]!;
      const c = describe(model).classes;
      if (!Number.isInteger(spec.target) || spec.target < 0 || (c !== undefined && spec.target >= c))
        throw new Error(`sketch: class ${spec.target} is out of range 0..${(c ?? 1) - 1}`);
      const targets = new Array<number>(n).fill(spec.target);
      const prob = async (x: Images) => targetProb(await forward(exec, model, x), spec.target);
      const before = await prob(drawing);
      return {
        live: {
          ...l2(spec),
          loss: targetedCeLoss(tensor("int64", [n], BigInt64Array.from(targets, BigInt)) as Tensor<"int64">),
          x0: drawing,
        },
        finish: async (r) => ({
          x: r!.x,
          reference: drawing,
          metrics: {
            target: spec.target,
            targetProbBefore: before,
            targetProbAfter: targetProb(r!.logits, spec.target),
            predictions: argmaxRows(r!.logits),
            change: Math.sqrt(r!.x.data.reduce((s, v, i) => s + (v - drawing.data[i]!) ** 2, 0) / n),
          },
        }),
      };
    }
    case "attack": {
      const images = fitTo(model, spec.images),
        n = images.shape[0]!;
      if (spec.labels.length !== n) throw new Error(`attack: ${spec.labels.length} labels for ${n} images`);
      const threat = { kind: spec.threat, eps: spec.eps };
      const idx = (v: number[]) => tensor("int64", [n], BigInt64Array.from(v, BigInt)) as Tensor<"int64">;
      const loss = spec.target === undefined ? ceLoss(idx(spec.labels)) : targetedCeLoss(idx(new Array<number>(n).fill(spec.target)));
      const clean = await predict(exec, model, images);
      const start = spec.randomStart ? threatModel(threat).randomStart(images, exampleNoise(spec.rngSeed, 0, 0)) : undefined;
      return {
        live: { threat, loss, stepSize: spec.stepSize ?? defaultStepSize(threat, spec.steps), keep: "best", x0: images, start },
        finish: async (r) => {
          const adv = argmaxRows(r!.logits);
          const acc = (p: number[]) => mean(p.map((v, i) => (v === spec.labels[i] ? 1 : 0)));
          const metrics: Metrics = { cleanAccuracy: acc(clean), advAccuracy: acc(adv), predictions: adv };
          if (spec.target !== undefined) metrics.targetRate = mean(adv.map((v) => (v === spec.target ? 1 : 0)));
          return { x: r!.x, reference: images, metrics };
        },
      };
    }
    case "saliency": {
      const images = fitTo(model, spec.images);
      return {
        finish: async () => {
          const s = await saliency(exec, model, images, spec.labels);
          return { x: images, map: s.map, metrics: { labels: s.labels } };
        },
      };
    }
  }
}

/** Mean softmax probability of class `k` over the rows of logits. */
function targetProb(logits: Tensor, k: number): number {
  const c = logits.shape[1]!,
    p = softmax(logits);
  return mean(Array.from({ length: logits.shape[0]! }, (_, i) => p[i * c + k]!));
}

/** The unit to show (given, or the most varying one over `data`), its top/bottom images in `data` and its largest activation there. */
async function chooseUnit(
  exec: Session,
  model: Model,
  data: Images,
  setup: { name: string; shape: number[] },
  feature: number | null,
  topK: number,
) {
  const reps = await representationOf(exec, model, fitTo(model, data), { rep: setup.name });
  const f = feature ?? pickFeatures(reps, setup.shape, 1)[0]!;
  const r = rankByFeature(featureActivations(reps, unitMask(setup.shape, [f])), topK);
  return { feature: f, top: r.top, bottom: r.bottom, datasetMax: r.activations[r.top[0]!]! };
}

/** Steps of a spec (0 for saliency). */
export const stepsOf = (spec: ExperimentSpec): number => ("steps" in spec ? spec.steps : 0);

/** Runs one experiment on every model, one step of each in turn, and returns per model the result and metrics. */
export async function runExperiment(
  exec: Executor,
  models: readonly Model[],
  spec: ExperimentSpec,
  hooks: Hooks = {},
): Promise<ExperimentResult> {
  const total = stepsOf(spec);
  if (total !== 0 && (!Number.isInteger(total) || total < 1)) throw new Error(`steps must be a positive integer, got ${total}`);
  // one session per run: every program compiled for it is disposed at the end
  const session = new Session(exec);
  const searches: (LiveSearch | undefined)[] = [];
  try {
    const plans: Plan[] = [];
    for (const m of models) plans.push(await plan(session, m, spec));
    for (const [k, p] of plans.entries()) searches.push(p.live ? await LiveSearch.create(session, models[k]!, p.live) : undefined);
    let done = 0;
    while (done < total && (await hooks.gate?.()) !== "stop") {
      const views: StepView[] = [];
      for (const s of searches) {
        const st = await s!.step();
        views.push({
          x: st.x,
          loss: mean(st.loss),
          probs: spec.kind === "attack" || spec.kind === "sketch" ? softmax(st.logits) : undefined,
        });
      }
      done++;
      await hooks.onStep?.(done, total, views);
    }
    const outcomes: ModelOutcome[] = [];
    for (const [k, p] of plans.entries()) outcomes.push(await p.finish(searches[k] ? await searches[k]!.finish() : undefined));
    if (spec.kind === "invert" || spec.kind === "ood") await addLabelAgreement(session, models, spec, outcomes);
    if (spec.kind === "sketch") await addJudge(session, models, spec.target, outcomes);
    return { experiment: spec.kind, steps: done, models: outcomes };
  } finally {
    await session.dispose();
  }
}

/**
 * Label agreement as the report measures it: the other model of the pair labels each model's inversions; the expected
 * labels are the targets' true labels, or (uploaded and drawn targets) the judge's own label of the target.
 */
async function addLabelAgreement(
  exec: Session,
  models: readonly Model[],
  spec: { targets: Images; labels?: number[] },
  outcomes: ModelOutcome[],
): Promise<void> {
  if (models.length < 2) return;
  for (const [k, o] of outcomes.entries()) {
    const judge = models[(k + 1) % models.length]!;
    const expected = spec.labels ?? (await predict(exec, judge, fitTo(judge, spec.targets)));
    o.metrics.labelAgreement = labelAgreement(await predict(exec, judge, fitTo(judge, o.x)), expected).rate;
  }
}

/** Sketches as the report judges them: the other model's probability of the target class, and the share it assigns it. */
async function addJudge(exec: Session, models: readonly Model[], target: number, outcomes: ModelOutcome[]): Promise<void> {
  if (models.length < 2) return;
  for (const [k, o] of outcomes.entries()) {
    const judge = models[(k + 1) % models.length]!;
    const logits = await forward(exec, judge, fitTo(judge, o.x));
    o.metrics.judgeTargetProb = targetProb(logits, target);
    o.metrics.judgeTargetRate = mean(argmaxRows(logits).map((p) => (p === target ? 1 : 0)));
  }
}

/** The representation's name and size, and the class count, of a model (for the UI's unit picker and class list). */
export function describe(model: Model): { rep: string; units: number; repShape: number[]; classes: number | undefined } {
  const info = model.representation();
  const c = model.graph(1).outputs[0]!.shape?.[1];
  return { rep: info.name, units: info.shape[0]!, repShape: info.shape, classes: typeof c === "number" ? c : undefined };
}
