import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { lrnComposed } from "./lrn.js";
import { WEBGPU_PROFILE } from "./profile.js";

// defaults, AlexNet's constants, a large α and a window wider than the channels
const ATTRS = [
  { size: 3 },
  { size: 5, alpha: 1e-4, beta: 0.75, bias: 2 },
  { size: 3, alpha: 2, beta: 1.2, bias: 1 },
  { size: 9, alpha: 0.5, beta: 0.6, bias: 2 },
];

for (const attrs of ATTRS) {
  test(`LRN ${JSON.stringify(attrs)}: gradient on CPU and as the WebGPU rewrite`, async () => {
    for (const profile of [undefined, WEBGPU_PROFILE]) {
      await checkGradient({
        inputs: { x: randomTensor("float32", [2, 6, 3, 2], { lo: -2, hi: 2, seed: 51 }) },
        build: (g, v) => g.one("LRN", [v.x!], attrs),
        profile,
      });
    }
  });
}

test("LRN in basic ops (the WebGPU rewrite) equals ORT's LRN kernel", async () => {
  for (const attrs of ATTRS) {
    const graph = new Graph();
    const g = new Builder(graph);
    const x = graph.addInput("x", "float32", [2, 7, 3, 3]);
    graph.outputs = [g.one("LRN", [x], attrs), lrnComposed(g, x, attrs, "LRN")];
    const prog = await nodeExecutor.compile(graph);
    try {
      const out = await prog.run({ x: randomTensor("float32", [2, 7, 3, 3], { lo: -3, hi: 3, seed: 52 }) });
      const [a, b] = graph.outputs.map((v) => out[v.name]!) as [Tensor, Tensor];
      const worst = Array.from(a.data as Float32Array).reduce((m, v, i) => Math.max(m, Math.abs(v - Number(b.data[i]))), 0);
      assert.ok(worst < 1e-5, `${JSON.stringify(attrs)}: max abs difference ${worst}`);
    } finally {
      await prog.dispose();
    }
  }
});

test("LRN errors: size and rank, in one line naming the node", () => {
  const g = new Builder(new Graph());
  const x = g.graph.addInput("x", "float32", [2, 3]);
  const y = g.graph.addInput("y", "float32", [1, 3, 2, 2]);
  assert.throws(() => g.one("LRN", [x], { size: 3 }, "n"), /^Error: LRN "n": input \[2,3\] must be \[N,C,spatial\.\.\.\]$/);
  assert.throws(() => g.one("LRN", [y], { size: 0 }, "m"), /^Error: LRN "m": size 0 must be a positive integer$/);
  assert.throws(
    () => g.one("LRN", [y], { size: 4 }, "k"),
    /^Error: LRN "k": size 4 must be odd \(onnxruntime's LRN kernel refuses even windows\)$/,
  );
});
