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
