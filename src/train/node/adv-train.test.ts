import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ceLoss } from "../../attack/losses.js";
import { pgd } from "../../attack/pgd.js";
import { type Dataset, makeDataset } from "../../data/dataset.js";
import { loadNpy } from "../../data/node/npy-file.js";
import { tensor } from "../../ir/tensor.js";
import { Model } from "../../model/model.js";
import { nodeExecutor } from "../../runtime/node.js";
import { decodeCheckpoint } from "../checkpoint.js";
import type { AdvSpec } from "../adv.js";
import { type TrainOptions, train } from "./train.js";

const fixture = join(import.meta.dirname, "../../../../test/fixtures/fmnist_small");

async function data(): Promise<{ train: Dataset; test: Dataset }> {
  const x = await loadNpy(join(fixture, "x.npy"));
  const y = await loadNpy(join(fixture, "labels.npy"));
  const n = x.shape[0]!;
  const make = (from: number, to: number) =>
    makeDataset({
      name: "fmnist_small",
      classes: Array.from({ length: 10 }, (_, i) => String(i)),
      shape: [1, 28, 28],
      size: to - from,
      images: (x.data as Float32Array).slice(from * 784, to * 784),
      labels: Int32Array.from((y.data as BigInt64Array).slice(from, to), Number),
      norm: { mean: [0.286], std: [0.353] },
      hflip: false,
    });
  return { train: make(0, 192), test: make(192, n) };
}

const tmp = () => mkdtempSync(join(tmpdir(), "rl-adv-"));

function options(d: { train: Dataset; test: Dataset }, adv: AdvSpec | undefined, epochs: number, out = join(tmp(), "run")): TrainOptions {
  return {
    ...d,
    dataSpec: "fmnist_small",
    arch: "small-cnn",
    epochs,
    batchSize: 32,
    lr: 0.05,
    momentum: 0.9,
    weightDecay: 5e-4,
    schedule: "cosine",
    adv,
    evalLimit: 32,
    augment: false,
    seed: 0,
    out,
    resume: false,
  };
}

/** Mean cross-entropy under PGD-10 (keep best) at the threat on the given images (the objective adversarial training lowers). */
async function adversarialLoss(dir: string, threat: { kind: "l2" | "linf"; eps: number }, images: Dataset): Promise<number> {
  const model = new Model(new Uint8Array(readFileSync(join(dir, "model.onnx"))), "model.onnx");
  const n = images.size;
  const x = tensor("float32", [n, 1, 28, 28], Float32Array.from(images.images as Float32Array));
  const y = tensor("int64", [n], BigInt64Array.from(images.labels, BigInt));
  const r = await pgd(nodeExecutor, model, x, { threat, steps: 10, loss: ceLoss(y), keep: "best" });
  return r.loss.reduce((a, b) => a + b, 0) / n;
}

test("Free and N-FGSM (L2 and L∞) each give a lower adversarial training loss than clean training of the same budget", async (t0) => {
  const d = await data();
  const threats = { l2: { kind: "l2", eps: 3 }, linf: { kind: "linf", eps: 0.2 } } as const;
  const clean = join(tmp(), "clean");
  await train(nodeExecutor, options(d, undefined, 8, clean));
  for (const kind of ["l2", "linf"] as const) {
    const t = threats[kind];
    const base = await adversarialLoss(clean, t, d.train);
    for (const adv of [
      { kind: "free", threat: kind, eps: t.eps, replays: 2 },
      { kind: "n-fgsm", threat: kind, eps: t.eps },
    ] satisfies AdvSpec[]) {
      const out = join(tmp(), adv.kind);
      const r = await train(nodeExecutor, options(d, adv, 8, out));
      assert.equal(r.history.length, adv.kind === "free" ? 4 : 8, "Free makes epochs/replays passes");
      const l = await adversarialLoss(out, t, d.train);
      t0.diagnostic(`${adv.kind} ${kind}: adversarial loss ${l.toFixed(3)}, clean training ${base.toFixed(3)}`);
      assert.ok(l < base, `${adv.kind} ${kind}: adversarial loss ${l} vs clean training ${base}`);
    }
  }
});

test("Free: δ is checkpointed, and a run stopped after a pass then resumed equals an uninterrupted one", async () => {
  const d = await data();
  const adv: AdvSpec = { kind: "free", threat: "l2", eps: 1.5, replays: 2 };
  const a = join(tmp(), "a"),
    b = join(tmp(), "b");
  await train(nodeExecutor, options(d, adv, 6, a));
  await assert.rejects(
    train(nodeExecutor, {
      ...options(d, adv, 6, b),
      onEpoch: (m) => {
        if (m.epoch === 0) throw new Error("stop after pass 1");
      },
    }),
    /stop after pass 1/,
  );
  const ck = decodeCheckpoint(new Uint8Array(readFileSync(join(b, "checkpoint.rlck"))), "checkpoint");
  const delta = ck.tensors.get("free:delta")!;
  assert.deepEqual(delta.shape, [32, 1, 28, 28]);
  // each example's δ is on (or inside) the ε ball after ε-sized steps, and not zero
  const norm0 = Math.hypot(...delta.data.subarray(0, 784));
  assert.ok(norm0 > 0.5 && norm0 <= 1.5 + 1e-4, `‖δ₀‖ ${norm0}`);
  await train(nodeExecutor, { ...options(d, adv, 6, b), resume: true });
  const strip = (f: string) =>
    readFileSync(f, "utf8")
      .trim()
      .split("\n")
      .map((l) => {
        const { seconds: _s, images_per_second: _i, ...m } = JSON.parse(l);
        return m;
      });
  assert.deepEqual(strip(join(b, "metrics.jsonl")), strip(join(a, "metrics.jsonl")));
  assert.equal(strip(join(a, "metrics.jsonl")).length, 3);
  // weights, momentum and δ equal to the bit (model.onnx differs only in the options it records: out, resume)
  const tensorsOf = (dir: string) => decodeCheckpoint(new Uint8Array(readFileSync(join(dir, "checkpoint.rlck"))), dir).tensors;
  const ta = tensorsOf(a),
    tb = tensorsOf(b);
  assert.deepEqual([...tb.keys()], [...ta.keys()]);
  for (const [k, t] of ta) assert.deepEqual(tb.get(k)!.data, t.data, k);
});

test("bad adversarial options are one-line errors naming the option", async () => {
  const d = await data();
  const cases: [AdvSpec, number, RegExp][] = [
    [{ kind: "free", threat: "l2", eps: 1, replays: 3 }, 4, /^adv free: epochs 4 is not a multiple of replays 3/],
    [{ kind: "free", threat: "l2", eps: 1, replays: 0 }, 4, /^adv free: replays must be an integer >= 1, got 0$/],
    [{ kind: "n-fgsm", threat: "l1" as "l2", eps: 1 }, 4, /^adv n-fgsm: threat must be l2 or linf, got "l1"$/],
    [{ kind: "n-fgsm", threat: "linf", eps: 0.1, noise: -1 }, 4, /^adv n-fgsm: noise must be a number >= 0, got -1$/],
    [{ kind: "n-fgsm", threat: "linf", eps: -0.1 }, 4, /^adv n-fgsm: eps must be a positive number, got -0.1$/],
  ];
  for (const [adv, epochs, re] of cases)
    await assert.rejects(train(nodeExecutor, options(d, adv, epochs)), (e: Error) => re.test(e.message) && !e.message.includes("\n"));
});
