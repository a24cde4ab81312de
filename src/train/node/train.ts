// The training run: epochs of (attack →) compiled train steps, per-epoch evaluation, atomic checkpoints, resume, export.
import { appendFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { ceLoss } from "../../attack/losses.js";
import { pgd, pgdIterate } from "../../attack/pgd.js";
import type { AttackTarget } from "../../attack/program.js";
import type { ThreatModel, ThreatSpec } from "../../attack/threat.js";
import { type AdvSpec, advThreat, checkAdv, freeUpdate, nfgsmThreat, passesOf } from "../adv.js";
import { type Dataset, batches } from "../../data/dataset.js";
import type { Graph } from "../../ir/graph.js";
import { toOnnxBytes } from "../../builder/onnx-export.js";
import { type Tensor, formatShape, tensor } from "../../ir/tensor.js";
import { buildModel } from "../../nn/archs.js";
import type { Executor } from "../../runtime/executor.js";
import { Session } from "../../runtime/session.js";
import { encodeCheckpoint } from "../checkpoint.js";
import { CHECKPOINT, type RunDir, openRun } from "./run-dir.js";
import { checkState, checkTensors, nonFiniteWeight } from "./check.js";
import { type Schedule, learningRate } from "../optimizer.js";
import { type TrainableModel, compileTrainStep, stateFeeds } from "../step.js";
import { writeAtomic } from "../../data/node/atomic.js";
import { writeTrainingPlot } from "../../plot/node/files.js";

export type { AdvSpec };

export interface TrainOptions {
  train: Dataset;
  test: Dataset;
  dataSpec: string;
  arch: string;
  width?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: Schedule;
  adv?: AdvSpec;
  /** Test images used for the per-epoch adversarial accuracy (PGD-10 at the training ε). */
  evalLimit: number;
  augment: boolean;
  seed: number;
  out: string;
  resume: boolean;
  /** Start afresh in an `out` that holds a run (otherwise that is refused unless resuming). */
  overwrite?: boolean;
  /** An already opened (locked, checked) run directory; train() opens `out` itself without it. */
  run?: RunDir;
  onBatch?: (info: { epoch: number; done: number; total: number; loss: number; acc: number; imagesPerSecond: number }) => void;
  onEpoch?: (metrics: EpochMetrics) => void;
}

export interface EpochMetrics {
  epoch: number;
  lr: number;
  train_loss: number;
  train_acc: number;
  test_acc: number;
  adv_acc: number | null;
  seconds: number;
  images_per_second: number;
}

/** The attack run before each step (PGD-k, FGSM-RS, N-FGSM) or, forEval, the per-epoch PGD-10 at the training threat. */
function attackOf(adv: AdvSpec, forEval: boolean): { threat: ThreatSpec | ThreatModel; steps: number; stepSize: number } {
  if (forEval) {
    const threat = advThreat(adv);
    return { threat, steps: 10, stepSize: (2.5 * (threat as { eps: number }).eps) / 10 };
  }
  switch (adv.kind) {
    case "fgsm-rs":
      return { threat: { kind: "linf", eps: adv.eps }, steps: 1, stepSize: 1.25 * adv.eps };
    case "n-fgsm":
      return { ...nfgsmThreat(adv), steps: 1 };
    case "free":
      throw new Error("internal: Free training runs no separate attack");
    default:
      return { threat: { kind: adv.kind, eps: adv.eps }, steps: adv.steps, stepSize: adv.stepSize ?? (2.5 * adv.eps) / adv.steps };
  }
}

/** The architecture the options describe, for the dataset's shape, classes and normalization. */
function archOf(o: TrainOptions, weights: Map<string, Tensor> | undefined) {
  const [C, H] = o.train.shape;
  const { arch, width, seed } = o;
  return {
    arch,
    inChannels: C,
    imageSize: H,
    classes: o.train.classes.length,
    mean: o.train.norm.mean,
    std: o.train.norm.std,
    width,
    seed,
    weights,
  };
}

function trainable(o: TrainOptions, weights?: Map<string, Tensor>): TrainableModel & { init: Map<string, Tensor> } {
  const common = archOf(o, weights);
  const tr = buildModel({ ...common, mode: "train" });
  const init = new Map<string, Tensor>();
  for (const v of tr.graph.initializers) if (tr.params.includes(v.name) || tr.buffers.includes(v.name)) init.set(v.name, v.data!);
  // the eval graph shares the train graph's tensors (a second seeded init would be a duplicate copy of every weight)
  const ev = buildModel({ ...common, weights: init, mode: "eval" });
  return {
    trainGraph: tr.graph,
    evalGraph: ev.graph,
    params: tr.params,
    buffers: tr.buffers,
    runningStatOutputs: tr.runningStatOutputs,
    init,
  };
}

/** Eval-mode model whose weights are graph inputs, so attack and eval programs compile once per batch size. */
function evalTarget(m: TrainableModel): AttackTarget & { graphFor(): Graph } {
  const lifted = m.evalGraph.clone().graph;
  lifted.liftInitializers([...m.params, ...m.buffers]);
  const [, ...rest] = lifted.inputs[0]!.shape!;
  return {
    inputName: lifted.inputs[0]!.name,
    // the weights stay the same over an attack's steps and an evaluation's batches: their NCHWc reorders run once
    stableInputs: [...m.params, ...m.buffers],
    graph: () => lifted.clone().graph,
    graphFor: () => lifted,
    checkInput: (x) => {
      if (x.shape.length !== 4 || rest.some((d, i) => d !== x.shape[i + 1]))
        throw new Error(`batch ${formatShape(x.shape)} does not fit the model`);
      return x.shape[0]!;
    },
  };
}

export async function train(exec: Executor, o: TrainOptions): Promise<{ best: EpochMetrics | undefined; history: EpochMetrics[] }> {
  const run = o.run ?? (await openRun(o.out, { resume: o.resume, overwrite: !!o.overwrite, options: describe(o) }));
  try {
    return await trainIn(exec, o, run);
  } finally {
    if (!o.run) await run.release();
  }
}

async function trainIn(exec: Executor, o: TrainOptions, run: RunDir): Promise<{ best: EpochMetrics | undefined; history: EpochMetrics[] }> {
  if (o.train.size < o.batchSize)
    throw new Error(
      `batch size ${o.batchSize} is larger than the ${o.train.size} training images of ${o.train.name}: no full batch to train on`,
    );
  if (o.adv) checkAdv(o.adv, o.epochs);
  const passes = passesOf(o.epochs, o.adv);
  const free = o.adv?.kind === "free" ? o.adv : undefined;
  const replays = free?.replays ?? 1;
  const [C, H, W] = o.train.shape;
  const deltaShape = [o.batchSize, C, H, W];
  // Free's perturbation, carried across replays, batches and epochs (checkpointed with the weights)
  let delta: Tensor<"float32"> | undefined = free ? tensor("float32", deltaShape) : undefined;
  const ckptPath = join(o.out, CHECKPOINT),
    metricsPath = join(o.out, "metrics.jsonl");
  let startEpoch = 0;
  let weights: Map<string, Tensor>, momentum: Map<string, Tensor>;
  let history: EpochMetrics[] = [];
  let m: TrainableModel & { init: Map<string, Tensor> };
  if (o.resume && run.checkpoint) {
    const ck = run.checkpoint;
    const state = checkState(ck.state, passes, ckptPath);
    startEpoch = state.epoch + 1;
    history = state.history;
    weights = new Map([...ck.tensors].filter(([k]) => !k.startsWith("momentum:") && k !== DELTA));
    m = trainable(o, weights);
    checkTensors(m, ck.tensors, ckptPath, free ? new Map([[DELTA, deltaShape]]) : undefined);
    if (free) delta = ck.tensors.get(DELTA)!;
    momentum = new Map(m.params.map((p) => [p, ck.tensors.get(`momentum:${p}`)!]));
    // metrics after the checkpointed epoch came from a killed run: drop them
    await writeAtomic(metricsPath, history.map((h) => JSON.stringify(h) + "\n").join(""));
  } else {
    m = trainable(o);
    weights = new Map(m.init);
    momentum = new Map(m.params.map((p) => [p, tensor("float32", weights.get(p)!.shape)]));
    await writeAtomic(metricsPath, "");
  }
  const target = evalTarget(m);
  // one session for the run: train step, attack and eval programs compiled once per batch size
  const session = new Session(exec);
  const stepFor = (n: number) =>
    session.cached(m, `train-step|${n}`, async (e) => {
      const sp = await compileTrainStep(e, m, n, { ...o, inputStep: free && freeUpdate(free) });
      return Object.assign(sp, { dispose: () => sp.program.dispose() });
    });
  const evalFor = (n: number) =>
    session.cached(target, `eval|${n}`, (e) => {
      const g = target.graph(n);
      g.outputs = [g.outputs[0]!];
      return e.compile(g.prune(), { stableInputs: target.stableInputs });
    });
  const weightFeeds = () => Object.fromEntries([...m.params, ...m.buffers].map((k) => [k, weights.get(k)!]));
  const perEpoch = Math.floor(o.train.size / o.batchSize);
  let best = history.reduce<EpochMetrics | undefined>((b, h) => (!b || score(h) > score(b) ? h : b), undefined);
  try {
    for (let epoch = startEpoch; epoch < passes; epoch++) {
      const t0 = performance.now();
      let lossSum = 0,
        correct = 0,
        seen = 0,
        k = 0,
        lr = o.lr;
      for (const batch of batches(o.train, {
        batchSize: o.batchSize,
        shuffle: true,
        seed: o.seed,
        epoch,
        augment: o.augment ? { crop: o.train.shape[1] >= 32 ? 4 : 2, flip: o.train.hflip } : undefined,
        dropLast: true,
      })) {
        const n = batch.x.shape[0]!;
        const sp = await stepFor(n);
        const x0 = batch.x;
        let x = x0;
        if (o.adv && !free) {
          // the last iterate is all the update needs: not evaluated (one forward pass less per batch)
          x = await pgdIterate(session, target, x, {
            ...attackOf(o.adv, false),
            loss: ceLoss(batch.y),
            randomStart: true,
            seed: o.seed * 1000003 + epoch * 10007 + k,
            feeds: weightFeeds(),
          });
          // the update changes the weights: the attack's once-per-weights results are dead weight during the train step
          await session.dropStable(target);
        }
        if (delta) x = boxed(x0, delta);
        let loss = 0,
          hits = 0;
        for (let r = 0; r < replays; r++) {
          lr = learningRate(o.schedule, o.lr, (epoch + (k + r / replays) / perEpoch) / passes);
          const out = await sp.program.run({
            ...stateFeeds(m, weights, momentum),
            [target.inputName]: x,
            ...(sp.clean ? { [sp.clean]: x0 } : {}),
            labels: batch.y,
            lr: tensor("float32", [], [lr]),
          });
          m.params.forEach((p, i) => {
            weights.set(p, out[sp.params[i]!]!);
            momentum.set(p, out[sp.momentum[i]!]!);
          });
          m.buffers.forEach((b, i) => weights.set(b, out[sp.buffers[i]!]!));
          const l = Number(out[sp.loss]!.data[0]);
          if (!Number.isFinite(l))
            throw new Error(
              `epoch ${epoch + 1}: the training loss became ${l} at batch ${k + 1} (lr ${lr.toPrecision(3)}); stopped, ${lastGood(history, ckptPath)}`,
            );
          loss += l / replays;
          hits += Number(out[sp.correct]!.data[0]) / replays;
          if (sp.next) x = out[sp.next]! as Tensor<"float32">;
        }
        if (delta) delta = minus(x, x0);
        lossSum += loss * n;
        correct += hits;
        seen += n;
        k++;
        o.onBatch?.({
          epoch,
          done: k,
          total: perEpoch,
          loss: lossSum / seen,
          acc: correct / seen,
          imagesPerSecond: seen / ((performance.now() - t0) / 1000),
        });
      }
      const bad = nonFiniteWeight(weights);
      if (bad) throw new Error(`epoch ${epoch + 1}: weight "${bad}" became non-finite; stopped, ${lastGood(history, ckptPath)}`);
      const trainSeconds = (performance.now() - t0) / 1000;
      const testAcc = await accuracy(
        o.test,
        o.test.size,
        o.batchSize,
        async (x) =>
          (await (await evalFor(x.shape[0]!)).run({ ...weightFeeds(), [target.inputName]: x }))[target.graphFor().outputs[0]!.name]!,
      );
      let advAcc: number | null = null;
      if (o.adv) {
        const a = attackOf(o.adv, true);
        advAcc = await accuracy(
          o.test,
          Math.min(o.evalLimit, o.test.size),
          o.batchSize,
          async (x, y) => (await pgd(session, target, x, { ...a, loss: ceLoss(y), keep: "best", feeds: weightFeeds() })).logits,
        );
      }
      const metrics: EpochMetrics = {
        epoch,
        lr,
        train_loss: lossSum / seen,
        train_acc: correct / seen,
        test_acc: testAcc,
        adv_acc: advAcc,
        seconds: (performance.now() - t0) / 1000,
        images_per_second: seen / trainSeconds,
      };
      history.push(metrics);
      const ckTensors = new Map<string, Tensor<"float32">>();
      for (const [kname, t] of weights) ckTensors.set(kname, t as Tensor<"float32">);
      for (const [kname, t] of momentum) ckTensors.set(`momentum:${kname}`, t as Tensor<"float32">);
      if (delta) ckTensors.set(DELTA, delta);
      if (!best || score(metrics) > score(best)) {
        best = metrics;
        await exportModel(o, weights, metrics);
      }
      await writeAtomic(ckptPath, encodeCheckpoint({ state: { epoch, history, options: describe(o) }, tensors: ckTensors }));
      await appendFile(metricsPath, JSON.stringify(metrics) + "\n");
      await writeTrainingPlot(join(o.out, "curves.svg"), [{ name: basename(resolve(o.out)), epochs: history }]);
      o.onEpoch?.(metrics);
    }
  } finally {
    await session.dispose();
  }
  return { best, history };
}

/** Checkpoint name of Free's carried perturbation. */
const DELTA = "free:delta";

/** clamp(x0 + δ, 0, 1): δ stays in its ball, since clamping only shrinks it. */
function boxed(x0: Tensor<"float32">, d: Tensor<"float32">): Tensor<"float32"> {
  const out = new Float32Array(x0.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, x0.data[i]! + d.data[i]!));
  return tensor("float32", x0.shape, out) as Tensor<"float32">;
}

const minus = (a: Tensor<"float32">, b: Tensor<"float32">) =>
  tensor(
    "float32",
    a.shape,
    a.data.map((v, i) => v - b.data[i]!),
  ) as Tensor<"float32">;

const score = (h: EpochMetrics) => h.adv_acc ?? h.test_acc;

const lastGood = (history: readonly EpochMetrics[], path: string) =>
  history.length
    ? `the last good checkpoint (epoch ${history.length}) is kept in ${path}`
    : "no epoch completed, so no checkpoint was written";

/** The options that define a run (stored in checkpoints and model metadata, compared on resume). */
export function runOptions(o: Omit<TrainOptions, "train" | "test">): Record<string, unknown> {
  const { onBatch: _b, onEpoch: _e, run: _r, overwrite: _o, ...rest } = o as TrainOptions;
  const { train: _t, test: _s, ...own } = rest;
  return own;
}
const describe = runOptions;

async function accuracy(
  ds: Dataset,
  limit: number,
  batchSize: number,
  logitsOf: (x: Tensor<"float32">, y: Tensor<"int64">) => Promise<Tensor>,
): Promise<number> {
  let correct = 0,
    seen = 0;
  for (const b of batches(ds, { batchSize, shuffle: false, seed: 0, epoch: 0 })) {
    if (seen >= limit) break;
    const logits = await logitsOf(b.x, b.y);
    const c = logits.shape[1]!;
    for (let i = 0; i < b.x.shape[0]! && seen < limit; i++, seen++) {
      let arg = 0;
      for (let j = 1; j < c; j++) if ((logits.data[i * c + j] as number) > (logits.data[i * c + arg] as number)) arg = j;
      if (arg === Number(b.y.data[i])) correct++;
    }
  }
  return correct / Math.max(1, seen);
}

/** The eval-mode model with the trained weights, normalization inside, and JSON metadata. */
async function exportModel(o: TrainOptions, weights: Map<string, Tensor>, metrics: EpochMetrics): Promise<void> {
  const built = buildModel({ ...archOf(o, weights), mode: "eval" });
  const meta = {
    dataset: o.dataSpec,
    classes: o.train.classes,
    normalization: o.train.norm,
    arch: o.arch,
    width: o.width ?? 1,
    training: describe(o),
    epoch: metrics.epoch,
    clean_accuracy: metrics.test_acc,
    adversarial_accuracy: metrics.adv_acc,
  };
  built.graph.metadata.robustlens = JSON.stringify(meta);
  await writeAtomic(join(o.out, "model.onnx"), toOnnxBytes(built.graph));
  await writeAtomic(join(o.out, "model.json"), JSON.stringify(meta, null, 2) + "\n");
}
