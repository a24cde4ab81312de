import assert from "node:assert/strict";
import { test } from "node:test";
import { checkGradient } from "../testing/gradcheck.js";
import { tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { Rng } from "../util/rng.js";
import { type ModelOptions, buildInto, buildModel } from "./archs.js";
import { TINY, images, randomBatchNorm } from "./tiny.js";

const tiny = (arch: string): ModelOptions => TINY.find((t) => t.o.arch === arch)!.o;

test("train mode: BN outputs running stats moved 10% from their inputs toward the batch statistics", async () => {
  const o = { ...tiny("resnet18"), imageSize: 8 };
  const ev = buildModel(o);
  const weights = randomBatchNorm(o);
  const m = buildModel({ ...o, mode: "train", weights });
  assert.deepEqual(m.params, ev.params);
  assert.deepEqual(m.buffers, ev.buffers);
  assert.deepEqual(
    m.runningStatOutputs,
    m.buffers.map((b) => `${b}_new`),
  );
  assert.deepEqual(
    m.graph.outputs.map((v) => v.name),
    ["logits", "rep", ...m.runningStatOutputs],
  );
  assert.ok(
    m.graph.nodes
      .filter((n) => n.op === "BatchNormalization")
      .every((n) => (n.attrs as { training_mode?: number }).training_mode === 1 && n.outputs.length === 3),
  );

  // fetch the input of the first BN ("conv1") to compute its batch statistics here
  m.graph.outputs.push(m.graph.value("conv1"));
  const prog = await nodeExecutor.compile(m.graph);
  const out = await prog.run({ input: images(4, o) });
  await prog.dispose();
  const h = out.conv1!,
    [n, c, hh, ww] = h.shape as [number, number, number, number];
  const rm = out["bn1.running_mean_new"]!.data as Float32Array,
    rv = out["bn1.running_var_new"]!.data as Float32Array;
  const rm0 = weights.get("bn1.running_mean")!.data as Float32Array,
    rv0 = weights.get("bn1.running_var")!.data as Float32Array;
  const k = n * hh * ww;
  for (let ch = 0; ch < c; ch++) {
    let s = 0,
      s2 = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < hh * ww; j++) {
        const v = Number(h.data[(i * c + ch) * hh * ww + j]);
        s += v;
        s2 += v * v;
      }
    const mean = s / k,
      varB = s2 / k - mean * mean;
    assert.ok(
      Math.abs(rm[ch]! - (0.9 * rm0[ch]! + 0.1 * mean)) < 1e-4 * (1 + Math.abs(mean)),
      `channel ${ch}: running mean ${rm[ch]} vs 0.9·${rm0[ch]} + 0.1·${mean}`,
    );
    // ORT updates the running variance with the biased batch variance (PyTorch uses the unbiased one: factor k/(k−1))
    assert.ok(
      Math.abs(rv[ch]! - (0.9 * rv0[ch]! + 0.1 * varB)) < 1e-4 * (1 + varB),
      `channel ${ch}: running var ${rv[ch]} vs 0.9·${rv0[ch]} + 0.1·${varB}`,
    );
  }
  assert.equal(out["layer4.1.bn2.running_var_new"]!.data.length, 128);
});

/**
 * Central differences of <u, logits> along random directions, for the input and conv1.weight. ReLU nets are
 * piecewise linear and float32 limits ε, so a direction that crosses a kink within ±ε disagrees: every seed must
 * agree within 50% and the median within 5% (PyTorch gradients in reference.test.ts are the tight check).
 */
async function gradcheck(o: ModelOptions): Promise<void> {
  const errs: number[] = [];
  for (const seed of [1, 2, 3, 4, 5]) {
    // random BN and conv biases: no exactly-zero pre-activations (dead receptive fields) sitting on a kink
    const weights = randomBatchNorm(o, seed);
    const rng = new Rng(seed);
    for (const v of buildModel(o).graph.initializers) {
      if (/^conv\d\.bias$/.test(v.name))
        weights.set(
          v.name,
          tensor(
            "float32",
            v.shape as number[],
            Float32Array.from({ length: v.shape![0] as number }, () => rng.uniform(-0.1, 0.1)),
          ),
        );
    }
    const om = { ...o, seed, weights };
    const w = buildModel(om).graph.value("conv1.weight").data!;
    const res = await checkGradient({
      inputs: { input: images(2, o, seed), "conv1.weight": w },
      build: (g, v) => buildInto(g, v.input!, { ...om, given: { "conv1.weight": v["conv1.weight"]! } }).logits,
      eps: 1e-4,
      rtol: 0.5,
      seed,
    });
    assert.deepEqual(
      res.map((r) => r.input),
      ["input", "conv1.weight"],
    );
    errs.push(...res.map((r) => r.relErr));
  }
  errs.sort((a, b) => a - b);
  assert.ok(
    errs[errs.length >> 1]! < 0.05,
    `median rel err ${errs[errs.length >> 1]} (all: ${errs.map((e) => e.toExponential(1)).join(" ")})`,
  );
}

test("gradient check: small-cnn wrt input and conv1.weight (finite differences, float32)", async () => {
  await gradcheck({ ...tiny("small-cnn"), imageSize: 12 });
});

test("gradient check: resnet18 wrt input and conv1.weight (finite differences, float32)", async () => {
  await gradcheck({ ...tiny("resnet18"), width: 0.125, imageSize: 8 });
});

// ORT's ConstantSharing merges equal initializers (BN weight 1 = running_var 1, bias 0 = running_mean 0); its
// BatchNormalization training kernel then overwrites scale/bias through the unused running-stat outputs
// (microsoft/onnxruntime#29790). Passes once src/runtime/node.ts disables "ConstantSharing".
test("train mode: logits do not depend on whether the running stats are fetched", async () => {
  const o = { ...tiny("resnet18"), width: 0.125, imageSize: 16, mode: "train" as const };
  const x = images(4, o);
  const run = async (statsOut: boolean) => {
    const g = buildModel(o).graph;
    if (!statsOut) g.outputs = [g.outputs[0]!];
    const p = await nodeExecutor.compile(g);
    try {
      return (await p.run({ input: x })).logits!.data;
    } finally {
      await p.dispose();
    }
  };
  assert.deepEqual(await run(false), await run(true));
});
