// `robustlens train`: standard or adversarial training with checkpoints, metrics and an exported best model.
import { SCHEDULES, type Schedule } from "../train/optimizer.js";
import { type AdvSpec, train } from "../train/node/train.js";
import { loadDataset } from "../data/node/load.js";
import { session } from "./session.js";
import { positiveInt, positiveNumber } from "./attack.js";
import { progress } from "./progress.js";

export interface TrainCliOptions {
  data: string; arch: string; width?: string; epochs: string; adv?: string; eps?: string; steps: string; stepSize?: string;
  lr: string; momentum: string; weightDecay: string; schedule: string; batchSize: string; out: string; resume?: boolean;
  evalLimit: string; augment: boolean; seed: string;
}

const nonNegative = (v: string, flag: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number, got "${v}"`);
  return n;
};

export async function trainCommand(o: TrainCliOptions): Promise<void> {
  const epochs = positiveInt(o.epochs, "--epochs"), batchSize = positiveInt(o.batchSize, "--batch-size");
  if (!(SCHEDULES as readonly string[]).includes(o.schedule)) throw new Error(`--schedule must be one of ${SCHEDULES.join(", ")}, got "${o.schedule}"`);
  let adv: AdvSpec | undefined;
  if (o.adv) {
    const eps = positiveNumber(o.eps, "--eps");
    if (eps === undefined) throw new Error(`--adv ${o.adv} needs --eps`);
    if (o.adv === "fgsm-rs") adv = { kind: "fgsm-rs", eps };
    else if (o.adv === "l2" || o.adv === "linf") adv = { kind: o.adv, eps, steps: positiveInt(o.steps, "--steps"), stepSize: positiveNumber(o.stepSize, "--step-size") };
    else throw new Error(`--adv must be l2, linf or fgsm-rs, got "${o.adv}"`);
  }
  const trainSet = await loadDataset(o.data, "train");
  const testSet = await loadDataset(o.data, "test");
  let bar = progress(1, "epoch");
  let barEpoch = -1;
  const t0 = performance.now();
  const r = await train(session, {
    train: trainSet, test: testSet, dataSpec: o.data, arch: o.arch, width: positiveNumber(o.width, "--width"),
    epochs, batchSize, lr: nonNegative(o.lr, "--lr"), momentum: nonNegative(o.momentum, "--momentum"), weightDecay: nonNegative(o.weightDecay, "--weight-decay"),
    schedule: o.schedule as Schedule, adv, evalLimit: positiveInt(o.evalLimit, "--eval-limit"), augment: o.augment, seed: Number(o.seed), out: o.out, resume: !!o.resume,
    onBatch: (b) => {
      if (b.epoch !== barEpoch) { bar.stop(); bar = progress(b.total, `epoch ${b.epoch + 1}/${epochs}`); barEpoch = b.epoch; }
      bar.update(b.done, { loss: b.loss.toFixed(3), acc: `${(100 * b.acc).toFixed(1)}%`, "img/s": b.imagesPerSecond.toFixed(0) });
    },
    onEpoch: (m) => {
      bar.stop();
      console.log(`epoch ${m.epoch + 1}/${epochs}: loss ${m.train_loss.toFixed(4)} train ${(100 * m.train_acc).toFixed(2)}% test ${(100 * m.test_acc).toFixed(2)}%` +
        `${m.adv_acc === null ? "" : ` adversarial ${(100 * m.adv_acc).toFixed(2)}%`} lr ${m.lr.toPrecision(3)} ${m.images_per_second.toFixed(0)} img/s ${m.seconds.toFixed(1)} s`);
    },
  });
  bar.stop();
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s; best epoch ${(r.best?.epoch ?? -1) + 1}; model in ${o.out}/model.onnx`);
}
