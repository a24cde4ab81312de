import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph } from "../ir/graph.js";
import { numberAt } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { Builder } from "./builder.js";
import { COMPOSED_OPS } from "./onnx-compose.js";

const mvn = COMPOSED_OPS["MeanVarianceNormalization"]!;

test("MeanVarianceNormalization: zero mean and unit variance over the default axes (N, H, W) per channel", async () => {
  const graph = new Graph();
  const b = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3, 4, 5]);
  const [y] = mvn({ b, inputs: [x], attrs: {}, label: 'MeanVarianceNormalization "m"', opset: 13 });
  graph.outputs = [y!];
  const prog = await nodeExecutor.compile(graph);
  const out = (await prog.run({ x: randomTensor("float32", [2, 3, 4, 5], { lo: -3, hi: 5, seed: 71 }) }))[y!.name]!;
  await prog.dispose();
  for (let c = 0; c < 3; c++) {
    const vals: number[] = [];
    for (let n = 0; n < 2; n++) for (let p = 0; p < 20; p++) vals.push(numberAt(out, (n * 3 + c) * 20 + p));
    const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
    const variance = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / vals.length;
    assert.ok(Math.abs(mean) < 1e-5 && Math.abs(variance - 1) < 1e-4, `channel ${c}: mean ${mean}, variance ${variance}`);
  }
});

test("MeanVarianceNormalization: gradient through the composition, default and explicit axes; unknown attributes refused", async () => {
  for (const attrs of [{}, { axes: [1, 3] }])
    await checkGradient({
      inputs: { x: randomTensor("float64", [2, 3, 2, 4], { seed: 72 }) },
      build: (b, v) => mvn({ b, inputs: [v.x!], attrs, label: "mvn", opset: 13 })[0]!,
    });
  const b = new Builder(new Graph());
  const x = b.graph.addInput("x", "float32", [1, 2, 2, 2]);
  assert.throws(
    () => mvn({ b, inputs: [x], attrs: { eps: 1 }, label: 'MeanVarianceNormalization "m"', opset: 13 }),
    /^Error: MeanVarianceNormalization "m": attribute "eps" is not supported \(takes: axes\)$/,
  );
});
