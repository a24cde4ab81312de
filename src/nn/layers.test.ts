import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { Layers } from "./layers.js";

const stats = (t: Tensor) => {
  const d = t.data as Float32Array;
  let s = 0,
    s2 = 0,
    lo = Infinity,
    hi = -Infinity;
  for (const v of d) {
    s += v;
    s2 += v * v;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(s2 / d.length - mean * mean), lo, hi };
};

function fresh(opts: ConstructorParameters<typeof Layers>[1] = {}) {
  const graph = new Graph();
  const L = new Layers(new Builder(graph), opts);
  return { graph, L, x: graph.addInput("x", "float32", ["N", 16, 8, 8]) };
}

test("conv: Kaiming-normal fan_out weights, no bias unless asked, readable names", () => {
  const { graph, L, x } = fresh();
  const y = L.conv(x, "layer1.0.conv1", { out: 64, kernel: 3, stride: 2, pad: 1 });
  assert.deepEqual(y.shape, ["N", 64, 4, 4]);
  assert.equal(y.name, "layer1.0.conv1");
  assert.deepEqual(
    graph.initializers.map((v) => v.name),
    ["layer1.0.conv1.weight"],
  );
  const s = stats(graph.value("layer1.0.conv1.weight").data!);
  assert.ok(Math.abs(s.mean) < 0.005, `mean ${s.mean}`);
  assert.ok(Math.abs(s.std / Math.sqrt(2 / (64 * 9)) - 1) < 0.03, `std ${s.std}`);
  L.conv(y, "c2", { out: 8, kernel: 1, bias: true });
  assert.deepEqual([...graph.value("c2.bias").data!.data], new Array(8).fill(0));
  assert.deepEqual(L.params, ["layer1.0.conv1.weight", "c2.weight", "c2.bias"]);
});

test("linear: Gemm transB=1, PyTorch default uniform(±1/sqrt(fan_in)) for weight and bias", () => {
  const graph = new Graph();
  const L = new Layers(new Builder(graph));
  const x = graph.addInput("x", "float32", ["N", 400]);
  const y = L.linear(x, "fc", 300);
  assert.deepEqual(y.shape, ["N", 300]);
  assert.equal(y.producer!.op, "Gemm");
  assert.equal((y.producer!.attrs as { transB?: number }).transB, 1);
  const w = stats(graph.value("fc.weight").data!),
    b = stats(graph.value("fc.bias").data!);
  const bound = 1 / 20;
  assert.ok(w.lo >= -bound && w.hi <= bound && w.hi > 0.99 * bound && w.lo < -0.99 * bound);
  assert.ok(Math.abs(w.std - bound / Math.sqrt(3)) < 1e-3, `std ${w.std}`);
  assert.ok(b.lo >= -bound && b.hi <= bound && b.std > 0);
});

test("batchNorm eval: weight 1, bias 0, running mean 0, var 1; one output", () => {
  const { graph, L, x } = fresh();
  const y = L.batchNorm(x, "bn1");
  assert.equal(y.producer!.outputs.length, 1);
  assert.deepEqual(L.params, ["bn1.weight", "bn1.bias"]);
  assert.deepEqual(L.buffers, ["bn1.running_mean", "bn1.running_var"]);
  const vals = ["weight", "bias", "running_mean", "running_var"].map((k) => [
    ...new Set(graph.value(`bn1.${k}`).data!.data as Float32Array),
  ]);
  assert.deepEqual(vals, [[1], [0], [0], [1]]);
  assert.equal(L.runningStats.length, 0);
});

test("batchNorm train: training_mode=1 with the running-stat outputs recorded and named", () => {
  const { L, x } = fresh({ mode: "train" });
  const y = L.batchNorm(x, "layer1.0.bn1");
  const node = y.producer!;
  assert.deepEqual(node.attrs, { epsilon: 1e-5, momentum: 0.9, training_mode: 1 });
  assert.equal(y.name, "layer1.0.bn1");
  assert.deepEqual(
    L.runningStats.map((v) => v.name),
    ["layer1.0.bn1.running_mean_new", "layer1.0.bn1.running_var_new"],
  );
  assert.deepEqual(L.runningStats[0]!.shape, [16]);
});

test("initialization is seeded per parameter name: same seed same values, other seed or name differs", () => {
  const w = (seed: number, name = "c") => {
    const { graph, L, x } = fresh({ seed });
    L.conv(x, name, { out: 4, kernel: 3 });
    return [...graph.value(`${name}.weight`).data!.data];
  };
  assert.deepEqual(w(3), w(3));
  assert.notDeepEqual(w(3), w(4));
  assert.notDeepEqual(w(3, "c"), w(3, "d"));
});

test("weights replace initial values by name and are shape-checked in one line; given values stand in", () => {
  const t = tensor("float32", [4, 16, 3, 3], new Float32Array(4 * 16 * 9).fill(0.5));
  const { graph, L, x } = fresh({
    weights: new Map([
      ["c.weight", t],
      ["other", t],
    ]),
  });
  L.conv(x, "c", { out: 4, kernel: 3 });
  assert.equal(graph.value("c.weight").data, t);
  assert.deepEqual(L.unusedWeights(), ["other"]);
  const bad = fresh({ weights: new Map([["c.weight", t]]) });
  assert.throws(
    () => bad.L.conv(bad.x, "c", { out: 8, kernel: 3 }),
    /^Error: weights: "c.weight" is float32\[4,16,3,3\], the model expects float32\[8,16,3,3\]$/,
  );
  const g2 = new Graph();
  const w = g2.addInput("c.weight", "float32", [4, 16, 3, 3]);
  const L2 = new Layers(new Builder(g2), { given: { "c.weight": w } });
  const y = L2.conv(g2.addInput("x", "float32", ["N", 16, 8, 8]), "c", { out: 4, kernel: 3 });
  assert.equal(y.producer!.inputs[1], w);
  assert.equal(g2.initializers.length, 0);
});
