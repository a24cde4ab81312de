import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";

const inputs = () => ({
  x: randomTensor("float64", [3, 4, 2, 2], { seed: 1 }),
  scale: randomTensor("float64", [4], { lo: 0.5, hi: 1.5, seed: 2 }),
  bias: randomTensor("float64", [4], { seed: 3 }),
  mean: randomTensor("float64", [4], { seed: 4, lo: -0.2, hi: 0.2 }),
  var: randomTensor("float64", [4], { lo: 0.5, hi: 1.5, seed: 5 }),
});

for (const training of [0, 1]) {
  test(`BatchNormalization ${training ? "training" : "inference"} mode: gradients of x, scale and bias`, async () => {
    await checkGradient({
      inputs: inputs(),
      fixed: ["mean", "var"],
      build: (g, v) =>
        g.add("BatchNormalization", [v.x!, v.scale!, v.bias!, v.mean!, v.var!], { epsilon: 1e-3, training_mode: training })[0]!,
    });
  });
}

test("BatchNormalization parameter size mismatch is a one-line error", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", ["N", 4, 8, 8]);
  const p = graph.addInput("p", "float32", [3]);
  assert.throws(
    () => g.add("BatchNormalization", [x, p, p, p, p], {}, { name: "bn1" }),
    /BatchNormalization "bn1": parameter "p" float32\[3\] does not match 4 channels/,
  );
});

test("BatchNormalization training mode: the running mean and variance outputs carry gradient to x (was: null dtype crash)", async () => {
  for (const out of [1, 2]) {
    await checkGradient({
      inputs: inputs(),
      fixed: ["mean", "var"],
      build: (g, v) =>
        g.add("BatchNormalization", [v.x!, v.scale!, v.bias!, v.mean!, v.var!], { epsilon: 1e-3, momentum: 0.7, training_mode: 1 })[out]!,
    });
  }
  // all three outputs at once, as the conformance check differentiates them
  await checkGradient({
    inputs: inputs(),
    fixed: ["mean", "var"],
    build: (g, v) => {
      const [y, m, s] = g.add("BatchNormalization", [v.x!, v.scale!, v.bias!, v.mean!, v.var!], { training_mode: 1 });
      return g.addv(g.reduceSum(y!, [0, 2, 3], false), g.addv(m!, g.mul(s!, g.scalarLike(3, s!))));
    },
  });
});

for (const axis of [-1, 1, 2]) {
  test(`LayerNormalization axis ${axis}: gradients of x, scale and bias, and through the Mean and InvStdDev outputs`, async () => {
    const x = randomTensor("float32", [2, 3, 4], { seed: 8 });
    const shape = x.shape.slice(axis < 0 ? axis + 3 : axis);
    const ins = {
      x,
      scale: randomTensor("float32", shape, { lo: 0.5, hi: 1.5, seed: 9 }),
      bias: randomTensor("float32", shape, { seed: 10 }),
    };
    for (const out of [0, 1, 2]) {
      await checkGradient({
        inputs: ins,
        eps: 3e-3,
        build: (g, v) => g.add("LayerNormalization", [v.x!, v.scale!, v.bias!], { axis, epsilon: 1e-3 })[out]!,
      });
    }
  });
}

test("InstanceNormalization: gradients of x, scale and bias", async () => {
  await checkGradient({
    inputs: {
      x: randomTensor("float32", [2, 3, 3, 2], { seed: 11 }),
      scale: randomTensor("float32", [3], { lo: 0.5, hi: 1.5, seed: 12 }),
      bias: randomTensor("float32", [3], { seed: 13 }),
    },
    eps: 3e-3,
    build: (g, v) => g.one("InstanceNormalization", [v.x!, v.scale!, v.bias!], { epsilon: 1e-3 }),
  });
});
