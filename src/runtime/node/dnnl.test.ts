import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../../autodiff/grad.js";
import { Builder } from "../../builder/builder.js";
import { graphToModelProto } from "../../builder/onnx-export.js";
import { Graph, type Value } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import { PROFILES, convMacsPerExample, dnnlFor, dnnlTakes } from "../../ops/profile.js";
import { buildModel } from "../../nn/archs.js";
import { importOnnx } from "../../builder/onnx-import.js";
import { readFileSync } from "node:fs";
import { checkGradient, randomTensor } from "../../testing/gradcheck.js";
import { fitGraph } from "../fit.js";
import { CPU_DNNL, DnnlSession, dnnlAllocatorStats, dnnlConvs, dnnlStatus, foldForDnnl, trimDnnlAllocator } from "./dnnl.js";
import { NodeExecutor } from "../node.js";
import { onnx } from "../../builder/onnx-tensor.js";
import * as ort from "onnxruntime-node";
import { maxRelDiff, runOnProfile } from "../../testing/agree.js";

const status = dnnlStatus();
const noAddon = status.available ? false : `the oneDNN addon is not available: ${status.why}`;
// every 2-D convolution, however small (the CPU rule leaves these test sizes to ORT)
const dnnlProfile = { ...PROFILES.cpu, dnnl: { minGraphMacsPerExample: 0 } };
const rand = (shape: number[], seed: number, lo = -1, hi = 1): Tensor => randomTensor("float32", shape, { lo, hi, seed, gap: 0 });

/** Stem 3→16 (3×3 pad 1), 3×3 16→16 stride 1, strided 1×1 16→32 with bias, strided 3×3 32→32 pad 1, on fed weights. */
function net(): { graph: Graph; feeds: Record<string, Tensor>; out: Value } {
  const graph = new Graph();
  const g = new Builder(graph);
  const feeds: Record<string, Tensor> = {
    x: rand([3, 3, 9, 9], 1),
    w0: rand([16, 3, 3, 3], 2, -0.5, 0.5),
    w1: rand([16, 16, 3, 3], 3, -0.2, 0.2),
    w2: rand([32, 16, 1, 1], 4, -0.5, 0.5),
    b2: rand([32], 5),
    w3: rand([32, 32, 3, 3], 6, -0.2, 0.2),
  };
  const v: Record<string, Value> = {};
  for (const [k, t] of Object.entries(feeds)) v[k] = graph.addInput(k, "float32", [...t.shape]);
  const a = g.relu(g.conv(v.x!, v.w0!, null, { pads: [1, 1, 1, 1] }));
  const b = g.relu(g.addv(g.conv(a, v.w1!, null, { pads: [1, 1, 1, 1] }), a));
  const c = g.relu(g.conv(b, v.w2!, v.b2!, { strides: [2, 2] }));
  const d = g.conv(c, v.w3!, null, { strides: [2, 2], pads: [1, 1, 1, 1] });
  const out = g.reduceMean(g.mul(d, d), [1, 2, 3], false);
  graph.outputs = [out];
  return { graph, feeds, out };
}

test("oneDNN kernels: forward, input and weight gradients agree with ORT's Conv", { skip: noAddon }, async () => {
  const { graph, feeds, out } = net();
  const loss = new Builder(graph).reduceSum(out, [], false);
  graph.outputs = [out, loss];
  const wrt = ["x", "w0", "w1", "w2", "b2", "w3"];
  const plainGrad = grad(graph, { loss, wrt });
  const dnnlGrad = grad(graph, { loss, wrt, profile: dnnlProfile });
  // 4 forward Convs and 2 stride-1 input gradients (Convs on flipped weights), 2 stride-2 input gradients, 4 weight
  // gradients; the stem's and the 1×1's ReLUs and the residual Add + ReLU run in their Convs, and the residual block's
  // input gradient adds the skip path's gradient and applies the stem ReLU's mask in its kernel
  const fitted = fitGraph(dnnlGrad.graph, dnnlProfile);
  const { stats } = dnnlConvs(fitted, graphToModelProto(fitted), dnnlProfile);
  assert.deepEqual(stats, { conv: 6, relu: 2, residual: 2, mask: 1, gradData: 2, gradWeight: 4, blocked: 7 });
  const [plain, dnnl] = [await runOnProfile(PROFILES.cpu, plainGrad.graph, feeds), await runOnProfile(dnnlProfile, dnnlGrad.graph, feeds)];
  for (const [i, v] of [out, ...plainGrad.grads].entries()) {
    const other = i === 0 ? out : dnnlGrad.grads[i - 1]!;
    const e = maxRelDiff(plain[v.name]!, dnnl[other.name]!);
    assert.ok(e < 1e-4, `${v.name}: oneDNN vs ORT max rel diff ${e.toExponential(2)}`);
  }
});

test(
  "forward: ReLUs run inside the Conv kernels and inference BatchNormalization is folded; outputs agree",
  { skip: noAddon },
  async () => {
    const graph = new Graph();
    const g = new Builder(graph);
    const x = graph.addInput("x", "float32", [2, 8, 7, 7]);
    const w = g.constant(rand([16, 8, 3, 3], 31, -0.3, 0.3), "w");
    const bn = ["s", "b", "m", "v"].map((k, i) =>
      g.constant(rand([16], 32 + i, k === "v" || k === "s" ? 0.5 : -0.5, k === "v" || k === "s" ? 2 : 0.5), `bn.${k}`),
    );
    const y = g.add("BatchNormalization", [g.conv(x, w, null, { pads: [1, 1, 1, 1] }), ...bn], { epsilon: 1e-5 })[0]!;
    graph.outputs = [g.relu(g.conv(g.relu(y), g.constant(rand([4, 16, 1, 1], 40), "w2"), null, {}))];
    const { stats } = dnnlConvs(graph, graphToModelProto(graph), dnnlProfile);
    assert.equal(stats.relu, 1, "the second Conv's ReLU (the first Conv feeds its BN, until the executor folds it)");
    // what the executor compiles: the BN folded into the first Conv (in a copy: the caller's graph keeps it), both ReLUs fused
    const folded = foldForDnnl(graph);
    assert.ok(folded !== graph && graph.nodes.some((n) => n.op === "BatchNormalization"));
    assert.ok(!folded.nodes.some((n) => n.op === "BatchNormalization"));
    assert.equal(dnnlConvs(folded, graphToModelProto(folded), dnnlProfile).stats.relu, 2);
    const feeds = { x: rand([2, 8, 7, 7], 41) };
    const [plain, dnnl] = [await runOnProfile(PROFILES.cpu, graph, feeds), await runOnProfile(dnnlProfile, graph, feeds)];
    const v = graph.outputs[0]!.name;
    const e = maxRelDiff(plain[v]!, dnnl[v]!);
    assert.ok(e < 1e-5, `fused vs ORT max rel diff ${e.toExponential(2)}`);
  },
);

test("oneDNN gradients pass a numerical gradient check", { skip: noAddon }, async () => {
  await checkGradient({
    inputs: {
      x: rand([2, 16, 6, 6], 11),
      w: rand([16, 16, 3, 3], 12, -0.3, 0.3),
      v: rand([8, 16, 3, 3], 13, -0.3, 0.3),
    },
    // smooth: 3×3 stride 1 (Winograd), then 3×3 stride 2 with asymmetric reach
    build: (g, v) =>
      g.conv(g.mul(g.conv(v.x!, v.w!, null, { pads: [1, 1, 1, 1] }), v.x!), v.v!, null, { strides: [2, 2], pads: [1, 1, 0, 0] }),
    profile: dnnlProfile,
  });
});

test("the ConvGradWeight op is refused by backends without oneDNN", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [1, 4, 5, 5]);
  const w = graph.addInput("w", "float32", [4, 4, 3, 3]);
  graph.outputs = [g.reduceSum(g.conv(x, w, null, { pads: [1, 1, 1, 1] }), [], false)];
  const gr = grad(graph, { loss: graph.outputs[0]!, wrt: ["w"], profile: dnnlProfile });
  assert.ok(gr.graph.nodes.some((n) => n.op === "ConvGradWeight"));
  assert.throws(() => fitGraph(gr.graph, PROFILES.cpu), /^Error: cpu: op ConvGradWeight .* runs only on the oneDNN CPU backend/);
  assert.throws(() => fitGraph(gr.graph, PROFILES.webgpu), /ConvGradWeight/);
});

test("the CPU rule: CIFAR ResNet-18 runs its convolutions on oneDNN, the Fashion-MNIST CNN keeps ORT's", () => {
  const p = { ...PROFILES.cpu, dnnl: CPU_DNNL };
  const r18 = buildModel({
    arch: "resnet18",
    inChannels: 3,
    imageSize: 32,
    classes: 10,
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
    seed: 1,
    mode: "eval",
  }).graph;
  const macs = convMacsPerExample(r18);
  // torchvision-style CIFAR ResNet-18: 0.56 G multiply-adds per image
  assert.ok(macs > 5.5e8 && macs < 5.6e8, `ResNet-18 conv MACs ${macs}`);
  assert.equal(dnnlFor(r18, p), p);
  const fm = importOnnx(readFileSync("models/fashion-mnist-standard/model.onnx"));
  assert.ok(convMacsPerExample(fm) < CPU_DNNL.minGraphMacsPerExample);
  assert.equal(dnnlFor(fm, p).dnnl, undefined);
  // and its gradient graphs then use ORT's formulations: no ConvGradWeight
  const loss = new Builder(fm).reduceSum(fm.outputs[0]!, [], false);
  const gr = grad(fm, { loss, wrt: fm.nodes.filter((n) => n.op === "Conv").map((n) => n.inputs[1]!.name), profile: p });
  assert.ok(!gr.graph.nodes.some((n) => n.op === "ConvGradWeight"));
  assert.ok(
    !dnnlTakes(p, { kernel: [3, 3], group: 2, dilations: [1, 1] }) && !dnnlTakes(p, { kernel: [3, 3], group: 1, dilations: [2, 2] }),
  );
});

test("a kernel that cannot run its node fails the run with one line naming the op", { skip: noAddon }, async () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 4, 6, 6]);
  const w = graph.addInput("w", "float32", [4, 4, 3, 3]);
  graph.outputs = [g.reduceSum(g.conv(x, w, null, { pads: [1, 1, 1, 1] }), [], false)];
  const gr = grad(graph, { loss: graph.outputs[0]!, wrt: ["w"], profile: dnnlProfile });
  const { model } = dnnlConvs(gr.graph, graphToModelProto(gr.graph), dnnlProfile);
  // a kernel size that the gradient's window does not match
  const node = model.graph!.node!.find((n) => n.opType === "ConvGradWeight")!;
  node.attribute!.find((a) => a.name === "kernel_h")!.i = 5;
  const s = DnnlSession.create(onnx.ModelProto.encode(model).finish(), { threads: 1, arena: false, config: {} });
  try {
    const feeds = {
      x: new ort.Tensor("float32", new Float32Array(2 * 4 * 36), [2, 4, 6, 6]),
      w: new ort.Tensor("float32", new Float32Array(4 * 4 * 9), [4, 4, 3, 3]),
    };
    await assert.rejects(s.run(feeds), /^Error: ai\.robustlens ConvGradWeight: gradient size does not match the window$/);
  } finally {
    await s.release();
  }
});

test("the oneDNN sessions' allocator reuses freed large blocks and never holds more than was live at once", { skip: noAddon }, async () => {
  const graph = new Graph();
  const g = new Builder(graph);
  // 2 MiB activations: every intermediate is a mapped block
  const x = graph.addInput("x", "float32", [8, 16, 64, 64]);
  let h = x;
  for (let i = 0; i < 3; i++)
    h = g.relu(g.conv(h, g.constant(rand([16, 16, 3, 3], 60 + i, -0.2, 0.2), `w${i}`), null, { pads: [1, 1, 1, 1] }));
  graph.outputs = [g.reduceSum(g.mul(h, h), [], false)];
  const prog = await new NodeExecutor({ profile: dnnlProfile }).compile(graph);
  try {
    const feeds = { x: rand([8, 16, 64, 64], 64) };
    trimDnnlAllocator();
    // ORT plans its memory pattern from the first run: the runs after it repeat the same blocks
    await prog.run(feeds);
    const first = await prog.run(feeds);
    const a = dnnlAllocatorStats()!;
    assert.ok(a.shared, "ORT took the allocator");
    const second = await prog.run(feeds);
    const b = dnnlAllocatorStats()!;
    assert.equal(b.misses, a.misses, "a run after the first two maps nothing new");
    assert.ok(b.hits > a.hits, `it reuses blocks (hits ${a.hits} → ${b.hits})`);
    assert.ok(b.live + b.cached <= b.peak && b.peak > 0, JSON.stringify(b));
    assert.deepEqual(second, first);
    trimDnnlAllocator();
    const c = dnnlAllocatorStats()!;
    assert.equal(c.cached, 0);
  } finally {
    await prog.dispose();
  }
});
