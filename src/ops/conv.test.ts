import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { type Tensor, toNumbers } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import type { ConvTransposeAttrs } from "./attrs.js";
import { IM2COL_MAX_FLOATS } from "./conv.js";

// ORT's CPU Conv and ConvTranspose are float-only: float32 with a wide step (both ops are linear, so the step adds no error)
const f32 = (shape: number[], seed: number) => randomTensor("float32", shape, { seed });
type ConvOp = "Conv" | "ConvTranspose";

async function checkConv(op: ConvOp, xs: number[], ws: number[], attrs: ConvTransposeAttrs, bias = true): Promise<void> {
  const m = op === "Conv" ? ws[0]! : ws[1]! * (attrs.group ?? 1);
  const inputs: Record<string, Tensor> = { x: f32(xs, 1), w: f32(ws, 2) };
  if (bias) inputs.b = f32([m], 3);
  const res = await checkGradient({
    inputs,
    eps: 1e-1,
    rtol: 2e-2,
    atol: 1e-3,
    build: (g, v) => g.one(op, [v.x!, v.w!, v.b ?? null], attrs),
  });
  assert.equal(res.length, bias ? 3 : 2);
}

/** Runs one node on ORT and returns the output's dims next to the shape rule's answer. */
async function shapes(
  op: ConvOp,
  xs: number[],
  ws: number[],
  attrs: ConvTransposeAttrs,
): Promise<[readonly (number | string)[], readonly number[]]> {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", xs);
  const w = graph.addInput("w", "float32", ws);
  const y = g.one(op, [x, w], attrs);
  graph.outputs = [y];
  const prog = await nodeExecutor.compile(graph);
  try {
    const out = await prog.run({ x: f32(xs, 1), w: f32(ws, 2) });
    return [y.shape!, out[y.name]!.shape];
  } finally {
    await prog.dispose();
  }
}

test("Conv gradients: stride 2 + pad 1, dilation 2, asymmetric pads, ignored trailing rows", async () => {
  await checkConv("Conv", [2, 3, 7, 7], [4, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] });
  await checkConv("Conv", [1, 2, 9, 9], [3, 2, 3, 3], { dilations: [2, 2] });
  await checkConv("Conv", [2, 2, 6, 7], [3, 2, 3, 2], { strides: [2, 1], pads: [0, 1, 2, 0] });
  // 8×8, k3 s2 p0: the last row and column never reach the output
  await checkConv("Conv", [1, 2, 8, 8], [2, 2, 3, 3], { strides: [2, 2] }, false);
  await checkConv("Conv", [1, 2, 9, 8], [2, 2, 3, 3], { strides: [3, 2], dilations: [1, 2], pads: [1, 0, 0, 1] });
});

test("Conv gradients: groups (2, depthwise, depthwise with multiplier)", async () => {
  await checkConv("Conv", [2, 4, 6, 6], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] });
  await checkConv("Conv", [2, 4, 7, 7], [4, 1, 3, 3], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] });
  await checkConv("Conv", [1, 3, 6, 6], [6, 1, 3, 3], { group: 3, dilations: [2, 1] });
});

test("Conv gradients: auto_pad SAME_UPPER, SAME_LOWER and VALID, 1-D and 3-D", async () => {
  await checkConv("Conv", [1, 2, 7, 8], [3, 2, 3, 3], { strides: [2, 2], auto_pad: "SAME_UPPER" });
  await checkConv("Conv", [1, 2, 6, 5], [3, 2, 2, 4], { auto_pad: "SAME_LOWER" });
  await checkConv("Conv", [1, 2, 7, 7], [3, 2, 3, 3], { strides: [2, 2], auto_pad: "VALID" });
  await checkConv("Conv", [2, 3, 11], [4, 3, 3], { strides: [2], pads: [1, 0] });
  await checkConv("Conv", [1, 2, 5, 4, 5], [2, 2, 3, 2, 3], { strides: [2, 1, 2], pads: [1, 0, 1, 1, 1, 0] });
});

test("Conv input gradient alone builds no weight or bias gradient", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", ["N", 3, 8, 8]);
  const w = graph.addInitializer("w", f32([4, 3, 3, 3], 2));
  const b = graph.addInitializer("b", f32([4], 3));
  const y = g.conv(x, w, b, { strides: [2, 2], pads: [1, 1, 1, 1] });
  graph.outputs = [g.reduceSum(g.mul(y, y), [], false)];
  const r = grad(graph, { loss: graph.outputs[0]!, wrt: [x] });
  const ops = r.graph.nodes.map((n) => n.op);
  assert.equal(ops.filter((o) => o === "Conv").length, 1);
  assert.equal(ops.filter((o) => o === "ConvTranspose").length, 1);
  assert.deepEqual(r.grads[0]!.shape!.slice(1), [3, 8, 8]);
});

test("stride-1 Conv input gradients use a Conv with flipped weights, folded when the weight is an initializer", async () => {
  const cases: [number[], number[], ConvTransposeAttrs][] = [
    [[2, 3, 6, 7], [4, 3, 3, 2], { pads: [1, 0, 2, 1] }],
    [[1, 4, 6, 6], [4, 1, 3, 3], { group: 4, pads: [1, 1, 1, 1] }],
    [[1, 4, 6, 6], [6, 2, 1, 3], { group: 2, dilations: [1, 2], pads: [0, 2, 0, 1] }],
    [[1, 2, 5, 5], [3, 2, 1, 1], { pads: [1, 0, 0, 1] }],
  ];
  for (const [xs, ws, attrs] of cases) {
    const wt = f32(ws, 2);
    await checkGradient({
      inputs: { x: f32(xs, 1) },
      eps: 1e-1,
      rtol: 2e-2,
      atol: 1e-3,
      build: (g, v) => g.conv(v.x!, g.graph.addInitializer(`w${g.graph.initializers.length}`, wt), null, attrs),
    });
    const graph = new Graph();
    const g = new Builder(graph);
    const x = graph.addInput("x", "float32", xs);
    graph.outputs = [g.reduceSum(g.conv(x, graph.addInitializer("w", wt), null, attrs), [], false)];
    const convs = grad(graph, { loss: graph.outputs[0]!, wrt: [x] }).graph.nodes.filter((n) => n.op.startsWith("Conv"));
    const fallback = attrs.pads!.some((p) => p > 0) && ws[2] === 1 && ws[3] === 1;
    assert.deepEqual(
      convs.map((n) => n.op),
      ["Conv", fallback ? "ConvTranspose" : "Conv"],
    );
    if (!fallback) assert.equal(convs[1]!.inputs[1]!.kind, "constant");
  }
});

test("Conv gradients with a symbolic batch match the static-batch graph", async () => {
  for (const attrs of [
    { strides: [2, 2], pads: [1, 0, 0, 1] },
    { group: 2, pads: [1, 1, 1, 1] },
  ]) {
    const run = async (batch: number | string) => {
      const graph = new Graph();
      const g = new Builder(graph);
      const x = graph.addInput("x", "float32", [batch, 4, 7, 7]);
      const w = graph.addInput("w", "float32", [6, 4 / (attrs.group ?? 1), 3, 3]);
      const y = g.conv(x, w, null, attrs);
      assert.deepEqual(y.shape!.slice(0, 2), [batch, 6]);
      graph.outputs = [g.reduceSum(g.mul(y, y), [], false)];
      const r = grad(graph, { loss: graph.outputs[0]!, wrt: [x, w] });
      const prog = await nodeExecutor.compile(r.graph);
      try {
        const out = await prog.run({ x: f32([2, 4, 7, 7], 1), w: f32([6, 4 / (attrs.group ?? 1), 3, 3], 2) });
        return r.grads.map((v) => toNumbers(out[v.name]!));
      } finally {
        await prog.dispose();
      }
    };
    const [dyn, stat] = [await run("N"), await run(2)];
    for (let i = 0; i < 2; i++)
      dyn[i]!.forEach((v, j) => assert.ok(Math.abs(v - stat[i]![j]!) < 1e-4, `grad ${i}[${j}]: ${v} vs ${stat[i]![j]}`));
  }
});

test("ConvTranspose gradients: stride 2 with output_padding, pads, groups, output_shape, SAME", async () => {
  await checkConv("ConvTranspose", [2, 3, 4, 4], [3, 2, 3, 3], { strides: [2, 2], output_padding: [1, 1] });
  await checkConv("ConvTranspose", [1, 2, 4, 5], [2, 3, 3, 3], { strides: [2, 2], pads: [1, 0, 1, 2], output_padding: [0, 1] });
  await checkConv("ConvTranspose", [1, 4, 3, 3], [4, 2, 3, 3], { group: 2, strides: [2, 1], dilations: [1, 2] });
  await checkConv("ConvTranspose", [1, 2, 3, 4], [2, 2, 3, 3], { strides: [2, 2], output_shape: [6, 8] });
  await checkConv("ConvTranspose", [1, 2, 3, 4], [2, 2, 3, 3], { strides: [2, 2], auto_pad: "SAME_UPPER" });
  await checkConv("ConvTranspose", [1, 2, 5], [2, 2, 2], { strides: [2], dilations: [3], output_padding: [1] });
});

test("Conv and ConvTranspose shape rules agree with onnxruntime", async () => {
  const cases: [ConvOp, number[], number[], ConvTransposeAttrs][] = [
    ["Conv", [1, 3, 8, 8], [4, 3, 3, 3], { strides: [2, 2] }],
    ["Conv", [1, 3, 9, 7], [4, 3, 3, 2], { strides: [2, 3], pads: [1, 0, 2, 1], dilations: [2, 1] }],
    ["Conv", [1, 2, 7, 8], [4, 2, 3, 3], { strides: [2, 2], auto_pad: "SAME_UPPER" }],
    ["Conv", [1, 2, 7, 8], [4, 2, 4, 3], { strides: [3, 2], auto_pad: "SAME_LOWER" }],
    ["Conv", [1, 2, 7, 8], [4, 2, 4, 3], { strides: [3, 2], auto_pad: "VALID" }],
    ["Conv", [1, 2, 7], [4, 1, 3], { group: 2, kernel_shape: [3] }],
    ["Conv", [1, 2, 5, 6, 7], [4, 2, 2, 3, 3], { strides: [1, 2, 3], pads: [0, 1, 1, 1, 0, 1] }],
    ["ConvTranspose", [1, 3, 4, 4], [3, 2, 3, 3], { strides: [2, 2], output_padding: [1, 0] }],
    ["ConvTranspose", [1, 3, 4, 5], [3, 2, 3, 3], { strides: [2, 3], pads: [1, 0, 0, 2] }],
    ["ConvTranspose", [1, 4, 4, 5], [4, 1, 3, 2], { group: 2, strides: [2, 2], auto_pad: "SAME_LOWER" }],
    ["ConvTranspose", [1, 2, 3, 4], [2, 2, 3, 3], { strides: [2, 2], output_shape: [6, 9] }],
    ["ConvTranspose", [1, 2, 3, 4], [2, 2, 3, 3], { strides: [2, 2], dilations: [2, 1], auto_pad: "VALID" }],
  ];
  for (const [op, xs, ws, attrs] of cases) {
    const [rule, ort] = await shapes(op, xs, ws, attrs);
    assert.deepEqual(rule, ort, `${op} ${JSON.stringify(attrs)}`);
  }
});

test("Conv shape rule keeps a symbolic batch and a symbolic stride-1 SAME dim", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", ["N", 3, "H", 32]);
  const w = graph.addInitializer("w", f32([8, 3, 3, 3], 1));
  assert.deepEqual(g.conv(x, w, null, { pads: [1, 1, 1, 1] }).shape, ["N", 8, "H", 32]);
  assert.deepEqual(g.conv(x, w, null, { auto_pad: "SAME_UPPER" }).shape, ["N", 8, "H", 32]);
  const s2 = g.conv(x, w, null, { strides: [2, 2] }).shape!;
  assert.equal(s2[0], "N");
  assert.equal(typeof s2[2], "string");
  assert.equal(s2[3], 15);
  const t = graph.addInitializer("t", f32([8, 2, 4, 4], 1));
  const z = graph.addInput("z", "float32", ["N", 8, 5, 5]);
  assert.deepEqual(g.one("ConvTranspose", [z, t], { strides: [2, 2], pads: [1, 1, 1, 1] }).shape, ["N", 2, 10, 10]);
});

test("Conv and ConvTranspose shape errors are one line naming the node and shapes", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [4, 3, 32, 32]);
  const w = graph.addInput("w", "float32", [64, 1, 3, 3]);
  const one = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => re.test(e.message) && !e.message.includes("\n"));
  one(
    () => g.add("Conv", [x, w], {}, { name: "conv1" }),
    /^Conv "conv1": input \[4,3,32,32\] has 3 channels, weight \[64,1,3,3\] × group 1 needs 1$/,
  );
  one(
    () => g.add("Conv", [x, w], { group: 3 }, { name: "c" }),
    /^Conv "c": weight \[64,1,3,3\] has 64 output channels, not divisible by group 3$/,
  );
  const b = graph.addInput("b", "float32", [32]);
  const w3 = graph.addInput("w3", "float32", [64, 3, 3, 3]);
  one(() => g.add("Conv", [x, w3, b], {}, { name: "cb" }), /^Conv "cb": bias \[32\] must be \[64\]/);
  one(
    () => g.add("Conv", [x, w3], { kernel_shape: [5, 5] }, { name: "k" }),
    /^Conv "k": kernel_shape \[5,5\] does not match weight \[64,3,3,3\]$/,
  );
  one(() => g.add("Conv", [x, w3], { pads: [1, 1] }, { name: "p" }), /^Conv "p": pads \[1,1\] has 2 entries, expected 4$/);
  const big = graph.addInput("big", "float32", [64, 3, 40, 3]);
  one(() => g.add("Conv", [x, big], {}, { name: "big" }), /^Conv "big": window 40 .* larger than spatial dim 0 of size 32/);
  one(
    () => g.add("Conv", [x, w3], { auto_pad: "SAME_UPPER", dilations: [2, 2] }, { name: "sd" }),
    /^Conv "sd": auto_pad SAME_UPPER with dilations \[2,2\]/,
  );
  one(
    () => g.add("ConvTranspose", [x, w], {}, { name: "ct" }),
    /^ConvTranspose "ct": input \[4,3,32,32\] has 3 channels, weight \[64,1,3,3\] needs 64$/,
  );
  const wt = graph.addInput("wt", "float32", [3, 2, 3, 3]);
  one(
    () => g.add("ConvTranspose", [x, wt], { strides: [2, 2], output_padding: [2, 0] }, { name: "op" }),
    /^ConvTranspose "op": output_padding \[2,0\] must be in \[0, stride\)/,
  );
  one(
    () => g.add("ConvTranspose", [x, wt], { output_shape: [1, 2, 64, 64] }, { name: "os" }),
    /^ConvTranspose "os": output_shape \[1,2,64,64\] must have 2 entries/,
  );
});

test("Conv weight gradients: one im2col GEMM within the size cap, the batch-axis Conv beyond it, same values", async () => {
  const cases: [number[], number[], ConvTransposeAttrs][] = [
    [[4, 3, 9, 9], [5, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }],
    [[2, 4, 8, 8], [6, 4, 1, 1], { strides: [2, 2] }],
    [[2, 2, 9, 8], [3, 2, 3, 2], { dilations: [2, 1], pads: [0, 1, 2, 0] }],
  ];
  const saved = { ...IM2COL_MAX_FLOATS };
  for (const [xs, ws, attrs] of cases) {
    const run = async (gemm: boolean) => {
      const graph = new Graph();
      const g = new Builder(graph);
      const x = graph.addInput("x", "float32", ["N", ...xs.slice(1)]);
      const w = graph.addInput("w", "float32", ws);
      const y = g.conv(x, w, null, attrs);
      graph.outputs = [g.reduceSum(g.mul(y, y), [], false)];
      if (!gemm) IM2COL_MAX_FLOATS.perExample = 0;
      let r;
      try {
        r = grad(graph, { loss: graph.outputs[0]!, wrt: [w] });
      } finally {
        Object.assign(IM2COL_MAX_FLOATS, saved);
      }
      const ops = r.graph.nodes.map((n) => n.op);
      assert.equal(ops.includes("Gemm"), gemm, `${ops}`);
      assert.equal(ops.filter((o) => o === "Conv").length, gemm ? 1 : 2);
      const prog = await nodeExecutor.compile(r.graph);
      try {
        return toNumbers((await prog.run({ x: f32(xs, 1), w: f32(ws, 2) }))[r.grads[0]!.name]!);
      } finally {
        await prog.dispose();
      }
    };
    const [a, b] = [await run(true), await run(false)];
    a.forEach((v, i) =>
      assert.ok(Math.abs(v - b[i]!) <= 1e-4 * Math.max(1, Math.abs(b[i]!)), `${xs} ${JSON.stringify(attrs)} [${i}]: ${v} vs ${b[i]}`),
    );
  }
});
