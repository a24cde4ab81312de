import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";

const f64 = (shape: number[], seed: number) => randomTensor("float64", shape, { seed });

test("MatMul gradients: 2-D, batched with broadcasting, and 1-D operands", async () => {
  const cases: [number[], number[]][] = [
    [
      [3, 4],
      [4, 5],
    ],
    [
      [2, 3, 4],
      [4, 5],
    ],
    [
      [3, 4],
      [2, 4, 5],
    ],
    [[4], [4, 5]],
    [[3, 4], [4]],
    [[4], [4]],
  ];
  for (const [sa, sb] of cases) {
    await checkGradient({ inputs: { a: f64(sa, 1), b: f64(sb, 2) }, build: (g, { a, b }) => g.matmul(a!, b!) });
  }
});

test("Gemm gradients for every transA/transB with alpha, beta and a broadcast C", async () => {
  for (const transA of [0, 1]) {
    for (const transB of [0, 1]) {
      await checkGradient({
        inputs: { a: f64(transA ? [4, 3] : [3, 4], 1), b: f64(transB ? [5, 4] : [4, 5], 2), c: f64([5], 3) },
        build: (g, { a, b, c }) => g.gemm(a!, b!, c!, { alpha: 0.7, beta: 1.3, transA, transB }),
      });
    }
  }
});

test("MatMul shape rule names both operands on mismatch", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const a = graph.addInput("a", "float32", ["N", 3]);
  const b = graph.addInput("b", "float32", [4, 5]);
  assert.throws(() => g.matmul(a, b), /MatMul "matmul": "a" float32\[N,3\] times "b" float32\[4,5\]: inner dimensions 3 and 4 differ$/);
  const c = graph.addInput("c", "float32", [3, 5]);
  assert.deepEqual(g.matmul(a, c).shape, ["N", 5]);
});
