import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { WEBGPU_PROFILE } from "./profile.js";
import { triluComposed } from "./scan.js";

test("CumSum gradient: every exclusive/reverse combination, negative axis", async () => {
  for (const exclusive of [0, 1])
    for (const reverse of [0, 1])
      for (const axis of [1, -1])
        await checkGradient({
          inputs: { x: randomTensor("float64", [2, 3, 4], { seed: 61 }) },
          build: (g, v) => g.one("CumSum", [v.x!, g.constant(tensor("int64", [], [axis]))], { exclusive, reverse }),
        });
});

test("Trilu gradient: upper and lower, k inside and past the matrix, on CPU and as the WebGPU rewrite", async () => {
  for (const upper of [0, 1])
    for (const k of [-1, 0, 2, 5])
      for (const profile of [undefined, WEBGPU_PROFILE])
        await checkGradient({
          inputs: { x: randomTensor("float32", [2, 3, 4], { seed: 62 }) },
          build: (g, v) => g.one("Trilu", [v.x!, g.constant(tensor("int64", [], [k]))], { upper }),
          profile,
        });
});

test("Trilu's WebGPU rewrite equals ORT's Trilu kernel", async () => {
  for (const upper of [0, 1])
    for (const k of [-2, 0, 1]) {
      const graph = new Graph();
      const g = new Builder(graph);
      const x = graph.addInput("x", "float32", [2, 4, 3]);
      const kv = g.constant(tensor("int64", [], [k]));
      graph.outputs = [g.one("Trilu", [x, kv], { upper }), triluComposed(g, x, kv, { upper }, "Trilu")];
      const prog = await nodeExecutor.compile(graph);
      try {
        const out = await prog.run({ x: randomTensor("float32", [2, 4, 3], { seed: 63 }) });
        const [a, b] = graph.outputs.map((v) => out[v.name]!) as [Tensor, Tensor];
        assert.deepEqual(Array.from(a.data as Float32Array), Array.from(b.data as Float32Array), `upper ${upper} k ${k}`);
      } finally {
        await prog.dispose();
      }
    }
});

test("CumSum and Trilu errors: operand types and ranks in one line", () => {
  const g = new Builder(new Graph());
  const x = g.graph.addInput("x", "float32", [3]);
  const y = g.graph.addInput("y", "float32", [2, 3]);
  assert.throws(() => g.one("Trilu", [x], {}, "t"), /^Error: Trilu "t": input \[3\] needs rank ≥ 2$/);
  assert.throws(
    () => g.one("CumSum", [y, g.constant(tensor("float32", [], [1]))], {}, "c"),
    /^Error: CumSum "c": axis .* must be int32 or int64$/,
  );
});
