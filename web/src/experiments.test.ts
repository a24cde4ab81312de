import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Model, type Tensor, ceLoss, forward, invert, pgd, sliceBatch, tensor } from "../../src/index.js";
import { loadNpy, nodeExecutor as exec } from "../../src/node.js";
import { EXPLORER_DEFAULTS, runExperiment } from "./experiments.js";

const model = (name: string) => new Model(new Uint8Array(readFileSync(`models/${name}/model.onnx`)), name);
const subset = async (n: number) => sliceBatch((await loadNpy("test/fixtures/fmnist_small/x.npy")) as Tensor<"float32">, 0, n);
const labels = async (n: number) =>
  Array.from(((await loadNpy("test/fixtures/fmnist_small/labels.npy")).data as BigInt64Array).slice(0, n), Number);

test("live inversion, one step at a time, gives exactly the library's invert() (same programs, same best-iterate rule)", async () => {
  const m = model("fashion-mnist-l2"),
    targets = await subset(3);
  const steps: number[] = [];
  const live = await runExperiment(
    exec,
    [m],
    { kind: "invert", targets, seed: "noise", rngSeed: 5, steps: 12, stepSize: 1, eps: 1000 },
    {
      onStep: (s) => {
        steps.push(s);
      },
    },
  );
  const lib = await invert(exec, m, targets, { seed: "noise", rngSeed: 5, steps: 12 });
  assert.deepEqual(
    steps,
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  assert.deepEqual(Array.from(live.models[0]!.x.data), Array.from(lib.x.data));
  assert.deepEqual(live.models[0]!.metrics.perExample, Array.from(lib.distance));
});

test("live attack equals pgd() and lowers the standard model's accuracy; the gate can stop a run early", async () => {
  const m = model("fashion-mnist-standard"),
    x = await subset(8),
    y = await labels(8);
  const spec = { kind: "attack" as const, images: x, labels: y, threat: "l2" as const, eps: 1, steps: 10, randomStart: false, rngSeed: 0 };
  const live = await runExperiment(exec, [m], spec);
  const lib = await pgd(exec, m, x, {
    threat: { kind: "l2", eps: 1 },
    loss: ceLoss(tensor("int64", [8], BigInt64Array.from(y, BigInt)) as Tensor<"int64">),
    steps: 10,
    keep: "best",
  });
  assert.deepEqual(Array.from(live.models[0]!.x.data), Array.from(lib.x.data));
  const { advAccuracy, cleanAccuracy } = live.models[0]!.metrics as { advAccuracy: number; cleanAccuracy: number };
  assert.ok(advAccuracy < cleanAccuracy, `adv ${advAccuracy} vs clean ${cleanAccuracy}`);
  let calls = 0;
  const early = await runExperiment(exec, [m], spec, { gate: async () => (++calls > 3 ? "stop" : "go") });
  assert.equal(early.steps, 3);
});

test("a pair inversion reports label agreement judged by the other model, and paint changes only the brushed region", async () => {
  const a = model("fashion-mnist-standard"),
    b = model("fashion-mnist-l2"),
    x = await subset(4),
    y = await labels(4);
  const inv = await runExperiment(exec, [a, b], {
    kind: "invert",
    targets: x,
    labels: y,
    seed: "noise",
    rngSeed: 0,
    steps: 5,
    stepSize: 1,
    eps: 1000,
  });
  for (const o of inv.models)
    assert.ok(typeof o.metrics.labelAgreement === "number" && o.metrics.labelAgreement >= 0 && o.metrics.labelAgreement <= 1);
  const region = new Float32Array(28 * 28);
  for (let r = 7; r < 21; r++) region.fill(1, r * 28 + 7, r * 28 + 21);
  const data = await subset(64);
  const paint = await runExperiment(exec, [b], {
    kind: "paint",
    image: sliceBatch(x, 0, 1),
    feature: null,
    region,
    data,
    steps: 20,
    stepSize: 0.5,
    eps: 1000,
  });
  const mt = paint.models[0]!.metrics as Record<string, number>;
  assert.ok(mt.featureAfter! > mt.featureBefore!, `feature ${mt.featureBefore} → ${mt.featureAfter}`);
  assert.equal(mt.maxChangeOutside, 0);
  assert.ok(mt.maxChangeInside! > 0.01);
  const logits = await forward(exec, b, paint.models[0]!.x);
  assert.ok(Array.from(logits.data as Float32Array).every(Number.isFinite));
});

test("sketch: a drawn stroke pushed to a class raises its probability for both models; the other model judges each", async () => {
  const pair = [model("mnist-standard"), model("mnist-l2")];
  // a vertical bar, pushed to class 8
  const d = new Float32Array(28 * 28);
  for (let y = 6; y < 22; y++) d.fill(1, y * 28 + 13, y * 28 + 15);
  const drawing = tensor("float32", [1, 1, 28, 28], d) as Tensor<"float32">;
  const r = await runExperiment(exec, pair, { kind: "sketch", drawing, target: 8, ...EXPLORER_DEFAULTS.sketch });
  for (const o of r.models) {
    const m = o.metrics as Record<string, number>;
    assert.ok(m.targetProbAfter! > m.targetProbBefore! + 0.2, `p(8) ${m.targetProbBefore} → ${m.targetProbAfter}`);
    assert.ok(m.change! > 0.1 && m.change! <= EXPLORER_DEFAULTS.sketch.eps + 1e-4, `‖δ‖ ${m.change}`);
    assert.ok(m.judgeTargetProb! >= 0 && m.judgeTargetProb! <= 1 && [0, 1].includes(m.judgeTargetRate!));
  }
  await assert.rejects(
    runExperiment(exec, pair, { kind: "sketch", drawing, target: 10, steps: 1, stepSize: 0.1, eps: 3 }),
    /sketch: class 10 is out of range 0\.\.9/,
  );
});
