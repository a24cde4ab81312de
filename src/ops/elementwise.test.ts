import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { tensor } from "../ir/tensor.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import type { OpType } from "./attrs.js";

const f64 = (shape: number[], o: Parameters<typeof randomTensor>[2] = {}) => randomTensor("float64", shape, o);

const unaries: [OpType, Parameters<typeof randomTensor>[2]][] = [
  ["Neg", {}],
  ["Exp", {}],
  ["Log", { lo: 0.2, hi: 2 }],
  ["Sqrt", { lo: 0.2, hi: 2 }],
  ["Abs", { avoid: [0], gap: 0.05 }],
  ["Reciprocal", { lo: 0.3, hi: 2 }],
  ["Relu", { avoid: [0] }],
  ["Sigmoid", {}],
  ["Tanh", {}],
  ["Identity", {}],
];
for (const [op, range] of unaries) {
  test(`${op}: gradient matches finite differences (float64)`, async () => {
    await checkGradient({ inputs: { x: f64([2, 3, 4], range) }, build: (g, { x }) => g.one(op, [x!], {}) });
  });
}

test("LeakyRelu, Elu, Softplus, Erf: gradients (float32: ORT has float kernels only)", async () => {
  for (const op of ["LeakyRelu", "Elu", "Softplus", "Erf"] as const) {
    const attrs = op === "LeakyRelu" || op === "Elu" ? { alpha: 0.3 } : {};
    await checkGradient({
      inputs: { x: randomTensor("float32", [3, 5], { avoid: [0], gap: 0.1 }) },
      build: (g, { x }) => g.one(op, [x!], attrs),
      rtol: 1e-2,
    });
  }
});

for (const op of ["Add", "Sub", "Mul", "Div", "Pow"] as const) {
  test(`${op}: broadcasting gradient of both operands`, async () => {
    await checkGradient({
      inputs: { a: f64([2, 3, 4], { lo: 0.5, hi: 2 }), b: f64([3, 1], { lo: 0.5, hi: 2, seed: 3 }) },
      build: (g, { a, b }) => g.one(op, [a!, b!], {}),
    });
  });
}

test("Pow: the exponent's gradient is 0, not NaN, where the base is 0 (ONNX test_pow has x = 0)", async () => {
  const r = await checkGradient({
    inputs: { a: tensor("float64", [4], [0, 0.5, 2, 0]), b: tensor("float64", [4], [1.5, -0.7, 0.7, 2]) },
    fixed: ["a"],
    build: (g, { a, b }) => g.one("Pow", [a!, b!], {}),
  });
  assert.ok(Number.isFinite(r[0]!.analytic));
});

test("Max/Min (variadic, broadcast) and Sum/Mean gradients", async () => {
  for (const op of ["Max", "Min", "Sum", "Mean"] as const) {
    const dt = op === "Mean" ? "float32" : "float64"; // ORT's Mean has float kernels only
    await checkGradient({
      inputs: { a: randomTensor(dt, [2, 3], { seed: 1 }), b: randomTensor(dt, [3], { seed: 2 }), c: randomTensor(dt, [2, 1], { seed: 5 }) },
      build: (g, { a, b, c }) => g.one(op, [a!, b!, c!], {}),
    });
  }
});

test("Clip with both bounds passes gradient only inside", async () => {
  await checkGradient({
    inputs: { x: f64([4, 5], { lo: -2, hi: 2, avoid: [-0.5, 0.7], gap: 0.05 }) },
    build: (g, { x }) => g.clip(x!, g.scalar(-0.5, "float64"), g.scalar(0.7, "float64")),
  });
});

test("Where routes gradient to the chosen branch; Cast float32<->float64 passes it", async () => {
  await checkGradient({
    inputs: { a: f64([3, 4], { seed: 1 }), b: f64([3, 4], { seed: 2 }) },
    build: (g, { a, b }) => g.cast(g.cast(g.where(g.greater(a!, b!), g.mul(a!, a!), g.exp(b!)), "float32"), "float64"),
    eps: 1e-3,
    rtol: 1e-3,
  });
});

test("shape rule: broadcasting with a symbolic batch keeps the symbol; mismatch is a one-line error", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", ["N", 3, 1, 5]);
  const y = graph.addInput("y", "float32", [4, 1]);
  assert.deepEqual(g.addv(x, y).shape, ["N", 3, 4, 5]);
  const z = graph.addInput("z", "float32", [3, 6]);
  assert.throws(
    () => g.addv(x, z),
    (e: Error) => /^Add "add(_\d+)?": shapes \[N,3,1,5\] and \[3,6\] do not broadcast$/.test(e.message),
  );
});

test("constant integer arithmetic folds in JS", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const a = g.constant(tensor("int64", [3], [7, -7, 9]));
  const b = g.constant(tensor("int64", [], [4]));
  const q = g.div(a, b);
  const m = g.one("Mod", [a, b], {});
  assert.equal(graph.nodes.length, 0);
  assert.deepEqual([...(q.data!.data as BigInt64Array)], [1n, -1n, 2n]);
  assert.deepEqual([...(m.data!.data as BigInt64Array)], [3n, 1n, 1n]);
});
