// Training: a step lowers the loss, BN running statistics follow PyTorch, resume after SIGKILL, adversarial training helps.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type Tensor, buildModel, compileTrainStep, decodeCheckpoint, stateFeeds, tensor } from "robustlens";
import { TRAINING_SERIES, loadNpy, nodeExecutor, readPlotSpec, specValues } from "robustlens/node";
import { cli, fixtureDir, tmp } from "./helpers.js";

const fm = { inChannels: 1, imageSize: 28, classes: 10, mean: [0.286], std: [0.353], seed: 0 };

function trainable(arch: string) {
  const tr = buildModel({ ...fm, arch, mode: "train" });
  const ev = buildModel({ ...fm, arch, mode: "eval" });
  return {
    trainGraph: tr.graph,
    evalGraph: ev.graph,
    params: tr.params,
    buffers: tr.buffers,
    runningStatOutputs: tr.runningStatOutputs,
    init: tr.graph,
  };
}

test("one SGD step on a batch lowers that batch's loss", async () => {
  const m = trainable("small-cnn");
  const x = await loadNpy(join(fixtureDir("fmnist_small"), "x.npy"));
  const y = await loadNpy(join(fixtureDir("fmnist_small"), "labels.npy"));
  const n = 32;
  const xb = tensor("float32", [n, 1, 28, 28], (x.data as Float32Array).slice(0, n * 784));
  const yb = tensor("int64", [n], (y.data as BigInt64Array).slice(0, n));
  const step = await compileTrainStep(nodeExecutor, m, n, { momentum: 0.9, weightDecay: 5e-4 });
  const weights = new Map(m.trainGraph.initializers.map((v) => [v.name, v.data!]));
  const momentum = new Map<string, Tensor>(m.params.map((p) => [p, tensor("float32", weights.get(p)!.shape)]));
  const losses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const out = await step.program.run({ ...stateFeeds(m, weights, momentum), input: xb, labels: yb, lr: tensor("float32", [], [0.05]) });
    losses.push(Number(out[step.loss]!.data[0]));
    m.params.forEach((p, k) => {
      weights.set(p, out[step.params[k]!]!);
      momentum.set(p, out[step.momentum[k]!]!);
    });
    m.buffers.forEach((b, k) => weights.set(b, out[step.buffers[k]!]!));
  }
  await step.program.dispose();
  assert.ok(losses[2]! < losses[0]!, `losses ${losses}`);
});

test("BatchNormalization running statistics after a training step match PyTorch's (momentum 0.1, unbiased variance)", async () => {
  const m = trainable("resnet18");
  const n = 4;
  const x = await loadNpy(join(fixtureDir("fmnist_small"), "x.npy"));
  const xb = tensor("float32", [n, 1, 28, 28], (x.data as Float32Array).slice(0, n * 784));
  // the stem BN sees conv(normalize(x)) — reproduce that in PyTorch from the same weights
  const w = m.trainGraph.initializers.find((v) => v.name === m.params[0])!;
  const bnMean = m.buffers[0]!,
    bnVar = m.buffers[1]!;
  const step = await compileTrainStep(nodeExecutor, m, n, { momentum: 0, weightDecay: 0 });
  const weights = new Map(m.trainGraph.initializers.map((v) => [v.name, v.data!]));
  const momentum = new Map<string, Tensor>(m.params.map((p) => [p, tensor("float32", weights.get(p)!.shape)]));
  const out = await step.program.run({
    ...stateFeeds(m, weights, momentum),
    input: xb,
    labels: tensor("int64", [n], [0, 1, 2, 3]),
    lr: tensor("float32", [], [0]),
  });
  await step.program.dispose();
  const d = tmp();
  const { saveNpy } = await import("robustlens/node");
  await saveNpy(join(d, "x.npy"), xb);
  await saveNpy(join(d, "w.npy"), w.data! as Tensor<"float32">);
  const py = `
import numpy as np, torch, torch.nn.functional as F
x = torch.from_numpy(np.load("${d}/x.npy")); w = torch.from_numpy(np.load("${d}/w.npy"))
h = F.conv2d((x - 0.286) / 0.353, w, padding=w.shape[-1] // 2)
bn = torch.nn.BatchNorm2d(w.shape[0]); bn.train(); bn(h)
np.save("${d}/rm.npy", bn.running_mean.detach().numpy()); np.save("${d}/rv.npy", bn.running_var.detach().numpy())`;
  execFileSync("/usr/bin/python3", ["-c", py]);
  const rm = await loadNpy(join(d, "rm.npy")),
    rv = await loadNpy(join(d, "rv.npy"));
  const mine = [out[step.buffers[0]!]!, out[step.buffers[1]!]!];
  assert.ok(bnMean.endsWith("running_mean") && bnVar.endsWith("running_var"), `${bnMean} ${bnVar}`);
  for (const [a, b] of [
    [mine[0]!, rm],
    [mine[1]!, rv],
  ] as const) {
    for (let i = 0; i < b.data.length; i++)
      assert.ok(
        Math.abs(Number(a.data[i]) - Number(b.data[i])) < 1e-4 * (1 + Math.abs(Number(b.data[i]))),
        `${i}: ${a.data[i]} vs ${b.data[i]}`,
      );
  }
});

const runArgs = (out: string, extra: string[] = []) => [
  "bin/robustlens.js",
  "train",
  "--data",
  "fashion-mnist?limit=1536",
  "--arch",
  "small-cnn",
  "--epochs",
  "3",
  "--batch-size",
  "64",
  "--lr",
  "0.05",
  "--out",
  out,
  ...extra,
];
const stable = (f: string) =>
  readFileSync(f, "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const { seconds: _s, images_per_second: _i, ...m } = JSON.parse(l);
      return m;
    });

test("SIGKILL mid-epoch then --resume: same metrics as an uninterrupted run, no torn files", async () => {
  const a = join(tmp(), "a"),
    b = join(tmp(), "b");
  execFileSync(process.execPath, runArgs(a));
  const child = spawn(process.execPath, runArgs(b), { stdio: "ignore" });
  const metrics = join(b, "metrics.jsonl");
  await new Promise<void>((resolve, reject) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      const lines = existsSync(metrics) ? readFileSync(metrics, "utf8").trim().split("\n").filter(Boolean).length : 0;
      if (lines >= 1) {
        clearInterval(poll);
        setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, 300);
      } else if (Date.now() - t0 > 60000) {
        clearInterval(poll);
        child.kill("SIGKILL");
        reject(new Error("no epoch finished in 60 s"));
      }
    }, 20);
  });
  await new Promise((r) => child.on("exit", r));
  const done = readFileSync(metrics, "utf8").trim().split("\n").length;
  assert.ok(done < 3, "the run finished before it could be killed");
  decodeCheckpoint(new Uint8Array(readFileSync(join(b, "checkpoint.rlck"))), "checkpoint");
  execFileSync(process.execPath, runArgs(b, ["--resume"]));
  assert.deepEqual(stable(metrics), stable(join(a, "metrics.jsonl")));
  assert.deepEqual(
    readdirSync(b).filter((f) => f.includes(".tmp")),
    [],
  );
  // curves.svg was rewritten after the resumed epochs: all three, as in metrics.jsonl
  const clean = specValues(await readPlotSpec(join(b, "curves.svg"))).filter((v) => v.series === TRAINING_SERIES.clean);
  assert.deepEqual(
    clean.map((v) => [v.run, v.epoch, v.value]),
    stable(metrics).map((m) => ["b", m.epoch + 1, Number((100 * m.test_acc).toPrecision(4))]),
  );
});

test("a tiny adversarial training run is more robust than standard training; plot train overlays both runs", async () => {
  const accs: number[] = [],
    dirs: string[] = [];
  for (const extra of [[], ["--adv", "l2", "--eps", "3", "--steps", "5", "--eval-limit", "128"]]) {
    const out = join(tmp(), "run");
    dirs.push(out);
    execFileSync(process.execPath, [
      "bin/robustlens.js",
      "train",
      "--data",
      "fashion-mnist?limit=1536",
      "--arch",
      "small-cnn",
      "--epochs",
      "2",
      "--batch-size",
      "64",
      "--lr",
      "0.05",
      "--out",
      out,
      ...extra,
    ]);
    const r = cli([
      "eval",
      "--model",
      join(out, "model.onnx"),
      "--data",
      "fashion-mnist?limit=256",
      "--threat",
      "l2",
      "--eps",
      "3",
      "--steps",
      "10",
      "--out",
      join(out, "ev.json"),
    ]);
    assert.equal(r.status, 0, r.stderr);
    accs.push(JSON.parse(readFileSync(join(out, "ev.json"), "utf8")).results[0].robust_accuracy);
  }
  assert.ok(accs[1]! > accs[0]! + 0.08, `robust accuracy standard ${accs[0]} vs adversarial ${accs[1]}`);
  const png = join(tmp(), "runs.png");
  const r = cli(["plot", "train", ...dirs, "--names", "standard,l2", "--out", png]);
  assert.equal(r.status, 0, r.stderr);
  const rows = specValues(await readPlotSpec(png));
  const count = (run: string, series: string) => rows.filter((v) => v.run === run && v.series === series).length;
  assert.deepEqual(
    [
      count("standard", TRAINING_SERIES.loss),
      count("standard", TRAINING_SERIES.adv),
      count("l2", TRAINING_SERIES.adv),
      count("l2", TRAINING_SERIES.lr),
    ],
    [2, 0, 2, 2],
  );
  assert.ok(existsSync(join(dirs[1]!, "curves.svg")));
  const bad = cli(["plot", "train", dirs[0]!, join(tmp(), "nothing"), "--out", png]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^robustlens: cannot read training metrics .*nothing\/metrics\.jsonl: /);
});
