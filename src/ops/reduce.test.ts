import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { tensor } from "../ir/tensor.js";
import { checkGradient, distinctTensor, randomTensor } from "../testing/gradcheck.js";

const x = () => randomTensor("float64", [2, 3, 4], { lo: 0.2, hi: 1.5 });

test("ReduceSum/Mean/L2 gradients, axes subsets and keepdims both ways", async () => {
  for (const keepdims of [true, false]) {
    for (const axes of [[1], [0, 2], []]) {
      await checkGradient({ inputs: { x: x() }, build: (g, v) => g.reduceSum(v.x!, axes, keepdims) });
      await checkGradient({ inputs: { x: x() }, build: (g, v) => g.reduceMean(v.x!, axes, keepdims) });
      await checkGradient({ inputs: { x: x() }, build: (g, v) => g.reduceL2(v.x!, axes, keepdims) });
    }
  }
});

test("ReduceMax/Min gradients on distinct values", async () => {
  for (const op of ["ReduceMax", "ReduceMin"] as const) {
    await checkGradient({
      inputs: { x: distinctTensor("float64", [2, 3, 4]) },
      build: (g, v) => g.one(op, [v.x!], { axes: [2], keepdims: 0 }),
    });
  }
});

test("Softmax and LogSoftmax gradients on either axis", async () => {
  for (const axis of [-1, 1]) {
    await checkGradient({ inputs: { x: x() }, build: (g, v) => g.softmax(v.x!, axis) });
    await checkGradient({ inputs: { x: x() }, build: (g, v) => g.logSoftmax(v.x!, axis) });
  }
});

test("reduction shape rule with symbolic batch", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const v = graph.addInput("x", "float32", ["N", 3, 8, 8]);
  assert.deepEqual(g.reduceMean(v, [2, 3], false).shape, ["N", 3]);
  assert.deepEqual(g.reduceSum(v, [], true).shape, [1, 1, 1, 1]);
  assert.deepEqual(g.one("ArgMax", [v], { axis: 1, keepdims: 0 }).shape, ["N", 8, 8]);
});

test("TopK gradient (float32, distinct values) on either axis, largest and smallest, and its shape rule", async () => {
  for (const [axis, largest] of [
    [-1, 1],
    [0, 1],
    [1, 0],
  ] as const) {
    await checkGradient({
      inputs: { x: distinctTensor("float32", [4, 6]) },
      eps: 1e-3,
      build: (g, v) => g.add("TopK", [v.x!, g.int64s([3])], { axis, largest, sorted: 1 })[0]!,
    });
  }
  const graph = new Graph();
  const g = new Builder(graph);
  const [vals, idx] = g.add("TopK", [graph.addInput("x", "float32", ["N", 10]), g.int64s([3])], {});
  assert.deepEqual([vals!.shape, idx!.shape, idx!.dtype], [["N", 3], ["N", 3], "int64"]);
  assert.throws(() => g.add("TopK", [graph.addInput("y", "float32", [2, 2]), g.int64s([3])], {}), /TopK .*K = 3 exceeds axis 1 of size 2/);
});

for (const op of ["ReduceL1", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"] as const) {
  for (const keepdims of [0, 1]) {
    test(`${op} keepdims ${keepdims}: gradient matches finite differences (float32)`, async () => {
      await checkGradient({
        // positive and off 0: ReduceLogSum needs a positive sum, ReduceL1 a point off its kink
        inputs: { x: randomTensor("float32", [2, 3, 4], { lo: 0.2, hi: 1.5, seed: 31 }) },
        build: (g, v) => g.one(op, [v.x!], { axes: [1], keepdims }),
      });
    });
  }
}

test("a full ReduceSum without keepdims is a scalar even when the input's rank is unknown (was: shape [?])", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", null);
  assert.deepEqual(g.one("ReduceSum", [x], { keepdims: 0 }).shape, []);
  assert.deepEqual(g.one("ReduceMean", [x], { keepdims: 0 }).shape, []);
  assert.equal(g.one("ReduceSum", [x], { keepdims: 1 }).shape, null);
});

test("ReduceSum with run-time axes (opset 13 input): shape rule and gradient, keepdims 0 and 1, empty axes", async () => {
  for (const [keepdims, axes, noop] of [
    [0, [1, -1], 0],
    [1, [0, 2], 0],
    [0, [], 0],
    [1, [], 1],
  ] as const) {
    const x = randomTensor("float64", [2, 3, 4], { seed: 41 });
    const want = [2, 3, 4].flatMap((d, i) =>
      axes.length === 0 && noop ? [d] : axes.length === 0 || axes.some((a) => (a + 3) % 3 === i) ? (keepdims ? [1] : []) : [d],
    );
    await checkGradient({
      inputs: { x, axes: tensor("int64", [axes.length], [...axes]) },
      build: (g, v) => {
        const y = g.one("ReduceSum", [v.x!, v.axes!], { keepdims, noop_with_empty_axes: noop });
        assert.equal(y.rank, keepdims ? 3 : axes.length ? undefined : 0);
        // the checker needs a static shape: the one ORT will give
        return g.reshape(y, want.length ? want : []);
      },
    });
  }
});

test("ArgMin: int64 indices, keepdims both ways, no gradient path", () => {
  const g = new Builder(new Graph());
  const x = g.graph.addInput("x", "float32", [2, 3, 4]);
  const a = g.one("ArgMin", [x], { axis: -1 });
  assert.equal(a.dtype, "int64");
  assert.deepEqual(a.shape, [2, 3, 1]);
  assert.deepEqual(g.one("ArgMin", [x], { axis: 1, keepdims: 0 }).shape, [2, 4]);
  assert.throws(() => g.one("ArgMin", [x], { axis: 3 }, "am"), /ArgMin "am"/);
});
