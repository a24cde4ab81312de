// `robustlens train`: standard or adversarial training with checkpoints, metrics and an exported best model.
import type { Schedule } from "../train/optimizer.js";
import { type AdvSpec, runOptions, train } from "../train/node/train.js";
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
  adv?: AdvSpec["kind"];
  eps?: number;
  steps?: number;
  stepSize?: number;
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

export async function trainCommand(o: TrainCliOptions): Promise<void> {
  const { epochs, batchSize } = o;
  requireWith(o.eps, "--eps", !!o.adv, "needs --adv l2|linf|fgsm-rs (standard training has no eps)");
  requireWith(o.steps, "--steps", o.adv === "l2" || o.adv === "linf", "applies to --adv l2|linf only");
  requireWith(o.stepSize, "--step-size", o.adv === "l2" || o.adv === "linf", "applies to --adv l2|linf only");
  if (o.resume && o.overwrite) throw new UsageError("--resume and --overwrite exclude each other");
  let adv: AdvSpec | undefined;
  if (o.adv) {
    if (o.eps === undefined) throw new UsageError(`--adv ${o.adv} needs --eps`);
    adv = o.adv === "fgsm-rs" ? { kind: "fgsm-rs", eps: o.eps } : { kind: o.adv, eps: o.eps, steps: o.steps ?? 7, stepSize: o.stepSize };
  }
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
          bar = progress(b.total, `epoch ${b.epoch + 1}/${epochs}`);
          barEpoch = b.epoch;
        }
        bar.update(b.done, { loss: b.loss.toFixed(3), acc: `${(100 * b.acc).toFixed(1)}%`, "img/s": b.imagesPerSecond.toFixed(0) });
      },
      onEpoch: (m) => {
        bar.stop();
        console.log(
          `epoch ${m.epoch + 1}/${epochs}: loss ${m.train_loss.toFixed(4)} train ${(100 * m.train_acc).toFixed(2)}% test ${(100 * m.test_acc).toFixed(2)}%` +
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
