import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { WEBGPU_PROFILE } from "./profile.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import type { OpAttrMap, OpType } from "./attrs.js";

type Case = { op: OpType; attrs?: object; range: Parameters<typeof randomTensor>[2] };
// float32 (ORT has float kernels only for most of these); inputs kept 0.15 away from each kink
const cases: Case[] = [
  { op: "Selu", range: { lo: -2, hi: 2, avoid: [0], gap: 0.15 } },
  { op: "Selu", attrs: { alpha: 2, gamma: 3 }, range: { lo: -2, hi: 2, avoid: [0], gap: 0.15 } },
  { op: "Celu", attrs: { alpha: 2 }, range: { lo: -2, hi: 2, avoid: [0], gap: 0.15 } },
  { op: "HardSigmoid", range: { lo: -4, hi: 4, avoid: [-2.5, 2.5], gap: 0.15 } },
  { op: "HardSigmoid", attrs: { alpha: 0.5, beta: 0.6 }, range: { lo: -3, hi: 3, avoid: [-1.2, 0.8], gap: 0.15 } },
  { op: "HardSwish", range: { lo: -5, hi: 5, avoid: [-3, 3], gap: 0.15 } },
  { op: "ThresholdedRelu", attrs: { alpha: 0.5 }, range: { lo: -2, hi: 2, avoid: [0.5], gap: 0.15 } },
  { op: "Softsign", range: { lo: -3, hi: 3 } },
  { op: "Shrink", attrs: { lambd: 0.7, bias: 0.2 }, range: { lo: -2, hi: 2, avoid: [-0.7, 0.7], gap: 0.15 } },
  { op: "Sin", range: { lo: -3, hi: 3 } },
  { op: "Cos", range: { lo: -3, hi: 3 } },
  { op: "Tan", range: { lo: -1.2, hi: 1.2 } },
  { op: "Asin", range: { lo: -0.9, hi: 0.9 } },
  { op: "Acos", range: { lo: -0.9, hi: 0.9 } },
  { op: "Atan", range: { lo: -3, hi: 3 } },
  { op: "Sinh", range: { lo: -2, hi: 2 } },
  { op: "Cosh", range: { lo: -2, hi: 2 } },
  { op: "Asinh", range: { lo: -3, hi: 3 } },
  { op: "Acosh", range: { lo: 1.5, hi: 3 } },
  { op: "Atanh", range: { lo: -0.9, hi: 0.9 } },
];

for (const c of cases) {
  test(`${c.op} ${JSON.stringify(c.attrs ?? {})}: gradient matches finite differences (float32)`, async () => {
    // both the plain CPU graph and the WebGPU-fitted one (forward op rewritten into ops WebGPU runs)
    for (const profile of [undefined, WEBGPU_PROFILE]) {
      await checkGradient({
        inputs: { x: randomTensor("float32", [2, 3, 4], { ...c.range, seed: 3 }) },
        build: (g, { x }) => g.one(c.op, [x!], (c.attrs ?? {}) as OpAttrMap[OpType]),
        profile,
      });
    }
  });
}

test("PRelu: gradients of x and of a per-channel slope (broadcast over N, H, W)", async () => {
  await checkGradient({
    inputs: {
      x: randomTensor("float32", [2, 3, 2, 2], { lo: -2, hi: 2, avoid: [0], gap: 0.15, seed: 4 }),
      slope: randomTensor("float32", [3, 1, 1], { lo: 0.1, hi: 0.5, seed: 5 }),
    },
    build: (g, { x, slope }) => g.one("PRelu", [x!, slope!], {}),
  });
});

test("the new activations fold in JS exactly as ORT computes them", async () => {
  const xs = [-4, -2.9, -1, -0.3, 0, 0.4, 1.2, 3.5];
  for (const c of cases) {
    const graph = new Graph();
    const g = new Builder(graph);
    const x = graph.addInput("x", "float32", [xs.length]);
    const konst = g.constant(tensor("float32", [xs.length], xs));
    const y = g.one(c.op, [x], (c.attrs ?? {}) as never),
      f = g.one(c.op, [konst], (c.attrs ?? {}) as never);
    assert.equal(f.kind, "constant", `${c.op} folds`);
    graph.outputs = [y];
    const prog = await nodeExecutor.compile(graph);
    const out = await prog.run({ x: tensor("float32", [xs.length], xs) });
    await prog.dispose();
    const ort = [...out[y.name]!.data].map(Number);
    const folded = [...f.data!.data].map(Number);
    // outside an inverse function's domain both give NaN (±Infinity at its edge); large tan/sinh/cosh values compare relatively
    ort.forEach((v, i) =>
      assert.ok(
        Object.is(v, folded[i]) || Math.abs(v - folded[i]!) < 1e-5 * Math.max(1, Math.abs(v)),
        `${c.op}(${xs[i]}): ORT ${v}, fold ${folded[i]}`,
      ),
    );
  }
});
