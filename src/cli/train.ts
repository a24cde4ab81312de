// `robustlens train`: standard or adversarial training with checkpoints, metrics and an exported best model.
import type { Schedule } from "../train/optimizer.js";
import { runOptions, train } from "../train/node/train.js";
import { type AdvKind, type AdvSpec, type BallKind, DEFAULT_NOISE, passesOf } from "../train/adv.js";
import { checkOutputs } from "./paths.js";
import { loadDataset } from "../data/node/load.js";
import { session } from "./session.js";
import { openRun } from "../train/node/run-dir.js";
import { UsageError, requireWith } from "./options.js";
import { progress } from "./progress.js";

export interface TrainCliOptions {
  data: string;
  arch: string;
  width?: number;
  epochs: number;
  adv?: AdvKind;
  threat?: BallKind;
  eps?: number;
  steps?: number;
  stepSize?: number;
  replays?: number;
  noise?: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: Schedule;
  batchSize: number;
  out: string;
  resume?: boolean;
  overwrite?: boolean;
  evalLimit: number;
  augment: boolean;
  seed: number;
}

/** The --adv union from the flags, refusing flags that do not apply to the chosen kind. */
export function advOf(o: TrainCliOptions): AdvSpec | undefined {
  const pgd = o.adv === "l2" || o.adv === "linf";
  requireWith(o.eps, "--eps", !!o.adv, "needs --adv (standard training has no eps)");
  requireWith(o.steps, "--steps", pgd, "applies to --adv l2|linf only");
  requireWith(o.stepSize, "--step-size", pgd || o.adv === "free" || o.adv === "n-fgsm", "applies to --adv l2|linf|free|n-fgsm only");
  requireWith(
    o.threat,
    "--threat",
    o.adv === "free" || o.adv === "n-fgsm",
    "applies to --adv free|n-fgsm only (l2|linf name their threat)",
  );
  requireWith(o.replays, "--replays", o.adv === "free", "applies to --adv free only");
  requireWith(o.noise, "--noise", o.adv === "n-fgsm", "applies to --adv n-fgsm only");
  if (o.resume && o.overwrite) throw new UsageError("--resume and --overwrite exclude each other");
  if (!o.adv) return undefined;
  if (o.eps === undefined) throw new UsageError(`--adv ${o.adv} needs --eps`);
  const eps = o.eps;
  switch (o.adv) {
    case "fgsm-rs":
      return { kind: "fgsm-rs", eps };
    case "l2":
    case "linf":
      return { kind: o.adv, eps, steps: o.steps ?? 7, stepSize: o.stepSize };
    case "free":
    case "n-fgsm": {
      if (!o.threat) throw new UsageError(`--adv ${o.adv} needs --threat l2|linf`);
      if (o.adv === "n-fgsm") return { kind: "n-fgsm", threat: o.threat, eps, noise: o.noise ?? DEFAULT_NOISE, stepSize: o.stepSize };
      if (o.replays === undefined) throw new UsageError("--adv free needs --replays M (each batch is replayed M times)");
      if (o.epochs % o.replays !== 0)
        throw new UsageError(`--epochs ${o.epochs} is not a multiple of --replays ${o.replays} (--adv free makes epochs/replays passes)`);
      return { kind: "free", threat: o.threat, eps, replays: o.replays, stepSize: o.stepSize };
    }
  }
}

export async function trainCommand(o: TrainCliOptions): Promise<void> {
  const { epochs, batchSize } = o;
  const adv = advOf(o);
  // Free replays each batch: its --epochs (gradient steps) are epochs/replays passes over the data
  const passes = passesOf(epochs, adv);
  const base = {
    dataSpec: o.data,
    arch: o.arch,
    width: o.width,
    epochs,
    batchSize,
    lr: o.lr,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    schedule: o.schedule,
    adv,
    evalLimit: o.evalLimit,
    augment: o.augment,
    seed: o.seed,
    out: o.out,
    resume: !!o.resume,
  };
  await checkOutputs(
    [{ flag: "--out", path: o.out, kind: "dir", dirFiles: ["checkpoint.rlck", "metrics.jsonl", "model.onnx", "model.json", "curves.svg"] }],
    [o.data],
  );
  // refusals (a run in --out, a lock, changed options) come before any data is read
  const run = await openRun(o.out, { resume: !!o.resume, overwrite: !!o.overwrite, options: runOptions(base) });
  try {
    const trainSet = await loadDataset(o.data, "train");
    const testSet = await loadDataset(o.data, "test");
    if (trainSet.size < batchSize)
      throw new Error(
        `--batch-size ${batchSize} is larger than the ${trainSet.size} training images of --data "${o.data}": no full batch to train on`,
      );
    if (testSet.size === 0) throw new Error(`--data "${o.data}": the test split has no images`);
    let bar = progress(1, "epoch");
    let barEpoch = -1;
    const t0 = performance.now();
    const r = await train(session, {
      ...base,
      train: trainSet,
      test: testSet,
      run,
      onBatch: (b) => {
        if (b.epoch !== barEpoch) {
          bar.stop();
          bar = progress(b.total, `epoch ${b.epoch + 1}/${passes}`);
          barEpoch = b.epoch;
        }
        bar.update(b.done, { loss: b.loss.toFixed(3), acc: `${(100 * b.acc).toFixed(1)}%`, "img/s": b.imagesPerSecond.toFixed(0) });
      },
      onEpoch: (m) => {
        bar.stop();
        console.log(
          `epoch ${m.epoch + 1}/${passes}: loss ${m.train_loss.toFixed(4)} train ${(100 * m.train_acc).toFixed(2)}% test ${(100 * m.test_acc).toFixed(2)}%` +
            `${m.adv_acc === null ? "" : ` adversarial ${(100 * m.adv_acc).toFixed(2)}%`} lr ${m.lr.toPrecision(3)} ${m.images_per_second.toFixed(0)} img/s ${m.seconds.toFixed(1)} s`,
        );
      },
    }).finally(() => bar.stop());
    console.log(
      `done in ${((performance.now() - t0) / 1000).toFixed(1)} s; best epoch ${(r.best?.epoch ?? -1) + 1}; model in ${o.out}/model.onnx`,
    );
  } finally {
    await run.release();
  }
}
