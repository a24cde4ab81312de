import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { CPU_PROFILE, WEBGPU_PROFILE, type BackendProfile } from "./profile.js";
import { validateGraph } from "../runtime/fit.js";
import { checkGradient, distinctTensor } from "../testing/gradcheck.js";
import { Rng } from "../util/rng.js";
import type { MaxPoolAttrs } from "./attrs.js";

const CASES: [number[], MaxPoolAttrs][] = [
  [[2, 3, 6, 6], { kernel_shape: [2, 2], strides: [2, 2] }],
  [[2, 2, 7, 7], { kernel_shape: [2, 2], strides: [2, 2] }],
  [[2, 3, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
  [[2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }],
  [[1, 2, 6, 7], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }],
  [[1, 2, 7, 8], { kernel_shape: [2, 3], dilations: [2, 2], pads: [1, 0, 0, 1] }],
  [[1, 2, 7, 8], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: "SAME_UPPER" }],
  [[1, 2, 5, 5], { kernel_shape: [3, 3] }],
  [[2, 3, 9], { kernel_shape: [3], strides: [2], pads: [1, 0] }],
  [[1, 2, 9, 10], { kernel_shape: [3, 3], strides: [3, 3] }],
  [[2, 3, 9], { kernel_shape: [2], strides: [2] }],
];

/** d Σ u·MaxPool(x) / dx built for `profile`, run on ORT CPU; also returns the gradient graph's op types. */
async function poolGrad(x: Tensor, attrs: MaxPoolAttrs, profile: BackendProfile, seed = 3) {
  const graph = new Graph();
  const g = new Builder(graph);
  const xv = graph.addInput("x", x.dtype, [...x.shape]);
  const y = g.one("MaxPool", [xv], attrs);
  const rng = new Rng(seed);
  const ys = y.staticShape!;
  const u = tensor(
    x.dtype,
    ys,
    Array.from({ length: ys.reduce((a, b) => a * b, 1) }, () => rng.normal()),
  );
  const loss = g.reduceSum(g.mul(y, g.constant(u, "u")), [], false);
  graph.outputs = [loss];
  const gr = grad(graph, { loss, wrt: ["x"], keepOutputs: false, profile });
  const prog = await nodeExecutor.compile(gr.graph);
  try {
    return {
      dx: toNumbers((await prog.run({ x }))[gr.grads[0]!.name]!),
      ops: gr.graph.nodes.map((n) => `${n.op}/${n.outputs.length}`),
      graph: gr.graph,
    };
  } finally {
    await prog.dispose();
  }
}

test("MaxPool mask VJP (webgpu profile): finite differences on window shapes, padding, ceil mode, dilation, SAME, 1-D", async () => {
  for (const [shape, attrs] of CASES) {
    // values ≥ 0.05 apart (a ramp on [−10, 10]), so a float32 central difference with ε = 1e-3 never crosses a tie
    const x = tensor(
      "float32",
      shape,
      toNumbers(distinctTensor("float32", shape, 5)).map((v) => 10 * v),
    );
    await checkGradient({ inputs: { x }, build: (g, v) => g.one("MaxPool", [v.x!], attrs), profile: WEBGPU_PROFILE, eps: 1e-3 });
  }
});

test("MaxPool mask VJP equals the Indices formulation on ORT CPU, ties included (first maximum wins)", async () => {
  const rng = new Rng(21);
  for (const [shape, attrs] of CASES) {
    const size = shape.reduce((a, b) => a * b, 1);
    // few distinct values (and negatives beside zero padding): most windows hold tied maxima
    const inputs = [
      distinctTensor("float32", shape, 9),
      tensor(
        "float32",
        shape,
        Array.from({ length: size }, () => rng.int(3) - 2),
      ),
      tensor("float32", shape, new Array<number>(size).fill(-1)),
    ];
    for (const x of inputs) {
      const a = await poolGrad(x, attrs, CPU_PROFILE);
      const b = await poolGrad(x, attrs, WEBGPU_PROFILE);
      assert.ok(
        a.ops.some((o) => o === "MaxPool/2"),
        "the CPU graph uses MaxPool's Indices",
      );
      assert.ok(
        !b.ops.some((o) => o === "MaxPool/2" || o.startsWith("MaxUnpool") || o.startsWith("ScatterElements")),
        `webgpu graph: ${b.ops.join(" ")}`,
      );
      validateGraph(b.graph, WEBGPU_PROFILE);
      a.dx.forEach((v, i) =>
        assert.ok(
          Math.abs(v - b.dx[i]!) <= 1e-6 * Math.max(1, Math.abs(v)),
          `${JSON.stringify(attrs)} element ${i}: indices ${v} vs mask ${b.dx[i]}`,
        ),
      );
    }
  }
});

test("MaxPool mask VJP: a window of equal values sends dy to its first element only", async () => {
  const x = tensor("float32", [1, 1, 2, 4], [5, 5, 1, 2, 5, 5, 2, 2]);
  const { dx } = await poolGrad(x, { kernel_shape: [2, 2], strides: [2, 2] }, WEBGPU_PROFILE);
  // window 0 ties four 5s: all of dy at (0,0); window 1 ties three 2s at (0,3),(1,2),(1,3): first is (0,3)
  assert.deepEqual(
    dx.map((v) => v !== 0),
    [true, false, false, true, false, false, false, false],
  );
});
