import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { graphToModelProto } from "../builder/onnx-export.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { PROFILES } from "../ops/profile.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { fitGraph } from "./fit.js";
import { blockConvs } from "./nchwc.js";
import { nchwcBlockOfCpu } from "./node.js";
import { maxRelDiff, runOnProfile } from "../testing/agree.js";

const block = nchwcBlockOfCpu();
const noNchwc = block ? false : "this CPU has neither AVX-512 nor AVX2: ORT has no NCHWc kernels here";
const blockedProfile = { ...PROFILES.cpu, nchwcBlock: block ?? 16 };

test("nchwcBlockOfCpu reads MLAS's block from the CPU flags", () => {
  assert.equal(nchwcBlockOfCpu("processor: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw\n"), 16);
  assert.equal(nchwcBlockOfCpu("flags\t: fpu sse2 avx avx2 fma\n"), 8);
  assert.equal(nchwcBlockOfCpu("flags\t: fpu sse2 avx\n"), undefined);
  assert.equal(nchwcBlockOfCpu("Features\t: fp asimd\n"), undefined);
});

const rand = (shape: number[], seed: number, lo = -1, hi = 1): Tensor => randomTensor("float32", shape, { lo, hi, seed, gap: 0 });

/**
 * A residual block on fed weights, as the training attack sees it: stem conv (3 → 16 channels, the OIhw·B·o path),
 * inference BN with random statistics (per-channel ops on the blocked layout), ReLU, 3×3 conv, BN, residual Add,
 * ReLU, strided 1×1 conv to 32 channels, global mean; also a per-example scale (a batch broadcast).
 */
function block2(): { graph: Graph; feeds: Record<string, Tensor>; out: Value } {
  const graph = new Graph();
  const g = new Builder(graph);
  const feeds: Record<string, Tensor> = {
    x: rand([2, 3, 8, 8], 1),
    w0: rand([16, 3, 3, 3], 2, -0.5, 0.5),
    w1: rand([16, 16, 3, 3], 3, -0.2, 0.2),
    w2: rand([32, 16, 1, 1], 4, -0.5, 0.5),
    b2: rand([32], 5),
    perEx: rand([2, 1, 1, 1], 6, 0.5, 2),
  };
  for (const bn of ["bn0", "bn1"]) {
    feeds[`${bn}.s`] = rand([16], 7, 0.5, 2);
    feeds[`${bn}.b`] = rand([16], 8);
    feeds[`${bn}.m`] = rand([16], 9, -0.3, 0.3);
    feeds[`${bn}.v`] = rand([16], 10, 0.5, 2);
  }
  const v: Record<string, Value> = {};
  for (const [k, t] of Object.entries(feeds)) v[k] = graph.addInput(k, "float32", [...t.shape]);
  const bn = (x: Value, p: string) =>
    g.add("BatchNormalization", [x, v[`${p}.s`]!, v[`${p}.b`]!, v[`${p}.m`]!, v[`${p}.v`]!], { epsilon: 1e-5 }, { name: p })[0]!;
  const a = g.relu(bn(g.conv(v.x!, v.w0!, null, { pads: [1, 1, 1, 1] }), "bn0"));
  const r = g.relu(g.addv(bn(g.conv(a, v.w1!, null, { pads: [1, 1, 1, 1] }), "bn1"), g.mul(a, v.perEx!)));
  const y = g.conv(r, v.w2!, v.b2!, { strides: [2, 2] });
  const out = g.reduceMean(g.relu(y), [2, 3], false);
  graph.outputs = [out];
  return { graph, feeds, out };
}

test("NCHWc on fed weights: forward, input and weight gradients agree with plain Conv", { skip: noNchwc }, async () => {
  const { graph, feeds, out } = block2();
  const wrt = ["x", "w0", "w1", "w2", "b2", "bn0.s", "bn1.b"];
  const loss = new Builder(graph).reduceSum(graph.outputs[0]!, [], false);
  graph.outputs = [out, loss];
  const gr = grad(graph, { loss, wrt });
  // the rewrite must actually run blocked: every Conv with fed weights (forward, input gradients), few reorders
  const fitted = fitGraph(gr.graph, blockedProfile);
  const { stats, model } = blockConvs(fitted, graphToModelProto(fitted), { block: blockedProfile.nchwcBlock });
  const convs = gr.graph.nodes.filter((n) => n.op === "Conv").length;
  assert.ok(stats.convs >= 4 && stats.convs <= convs, `NCHWc convs ${stats.convs} of ${convs}`);
  assert.ok(stats.blockedNodes > 10, `blocked elementwise/BN/reduce nodes: ${stats.blockedNodes}`);
  assert.ok(model.graph!.node!.some((n) => n.domain === "com.microsoft.nchwc" && n.opType === "Conv"));
  const [plain, blocked] = [await runOnProfile(PROFILES.cpu, gr.graph, feeds), await runOnProfile(blockedProfile, gr.graph, feeds)];
  for (const v of [out, ...gr.grads]) {
    const e = maxRelDiff(plain[v.name]!, blocked[v.name]!);
    assert.ok(e < 1e-5, `${v.name}: NCHWc vs plain Conv max rel diff ${e.toExponential(2)}`);
  }
});

test("NCHWc gradients pass a numerical gradient check", { skip: noNchwc }, async () => {
  await checkGradient({
    inputs: {
      x: rand([1, 16, 5, 5], 11),
      w: rand([16, 16, 3, 3], 12, -0.3, 0.3),
      s: rand([1, 16, 1, 1], 13, 0.5, 1.5),
    },
    // smooth (no ReLU kinks, which a central difference at eps 1e-2 straddles): conv, per-channel scale, conv
    build: (g, v) => g.conv(g.mul(g.conv(v.x!, v.w!, null, { pads: [1, 1, 1, 1] }), v.s!), v.w!, null, { pads: [1, 1, 1, 1] }),
    profile: blockedProfile,
  });
});

test("graphs without fed-weight Convs are left as they are", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [1, 16, 4, 4]);
  graph.outputs = [g.conv(x, g.constant(tensor("float32", [16, 16, 1, 1]), "w"))];
  const model = graphToModelProto(graph);
  const r = blockConvs(graph, model, { block: 16 });
  assert.equal(r.model, model);
  assert.equal(r.stats.convs, 0);
});

test("training-mode BatchNormalization stays blocked with NCHWc: outputs and running statistics agree", { skip: noNchwc }, async () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const feeds: Record<string, Tensor> = {
    x: rand([4, 16, 6, 6], 21),
    w: rand([16, 16, 3, 3], 22, -0.3, 0.3),
    s: rand([16], 23, 0.5, 2),
    b: rand([16], 24),
    m: rand([16], 25),
    v: rand([16], 26, 0.5, 2),
  };
  const v: Record<string, Value> = {};
  for (const [k, t] of Object.entries(feeds)) v[k] = graph.addInput(k, "float32", [...t.shape]);
  const conv = (x: Value) => g.conv(x, v.w!, null, { pads: [1, 1, 1, 1] });
  const [y, rm, rv] = g.add(
    "BatchNormalization",
    [conv(v.x!), v.s!, v.b!, v.m!, v.v!],
    { epsilon: 1e-5, momentum: 0.9, training_mode: 1 },
    {
      name: "bn",
      outputs: 3,
    },
  );
  const out = conv(g.relu(y!));
  graph.outputs = [out, rm!, rv!];
  const fitted = fitGraph(graph, blockedProfile);
  assert.ok(!fitted.nodes.some((n) => n.op === "BatchNormalization"), "training BN was not lowered for the blocked layout");
  const { stats } = blockConvs(fitted, graphToModelProto(fitted), { block: blockedProfile.nchwcBlock });
  assert.equal(stats.reorderOutputs, 1, "only the final output leaves the blocked layout");
  const [plain, blocked] = [await runOnProfile(PROFILES.cpu, graph, feeds), await runOnProfile(blockedProfile, graph, feeds)];
  for (const o of graph.outputs) {
    const e = maxRelDiff(plain[o.name]!, blocked[o.name]!);
    assert.ok(e < 1e-5, `${o.name}: max rel diff ${e.toExponential(2)}`);
  }
});
