import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../../builder/builder.js";
import { graphToModelProto } from "../../builder/onnx-export.js";
import type { INode } from "../../builder/onnx-tensor.js";
import { Graph } from "../../ir/graph.js";
import { randomTensor } from "../../testing/gradcheck.js";
import { PROFILES } from "../../ops/profile.js";
import { maxRelDiff, runOnProfile } from "../../testing/agree.js";
import { dnnlConvs, dnnlStatus } from "./dnnl.js";
import { NodeExecutor } from "../node.js";

const dnnlProfile = { ...PROFILES.cpu, dnnl: { minGraphMacsPerExample: 0 } };
const status = dnnlStatus();
const noAddon = status.available ? false : `the oneDNN addon is not available: ${status.why}`;
const w = (shape: number[], seed: number) => randomTensor("float32", shape, { lo: -0.3, hi: 0.3, seed, gap: 0 });

/** x (3 ch) → stem 16 → a; a → Conv 16 → b; b · b → Conv 8 → c (8 channels: no whole block); b and c → outputs via reductions. */
function chain(): Graph {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3, 8, 8]);
  const pads = { pads: [1, 1, 1, 1] };
  const a = g.relu(g.conv(x, g.constant(w([16, 3, 3, 3], 1), "w0"), null, pads));
  // w1 fed, as a trainer's attack feeds its weights (stable: once per weights)
  const b = g.conv(a, graph.addInput("w1", "float32", [16, 16, 3, 3]), null, pads);
  const sq = g.mul(b, b);
  const c = g.conv(sq, g.constant(w([8, 16, 3, 3], 3), "w2"), null, pads);
  const d = g.conv(c, g.constant(w([16, 8, 3, 3], 4), "w3"), null, pads);
  graph.outputs = [g.reduceSum(b, [1, 2, 3], false), g.reduceSum(d, [1, 2, 3], false)];
  return graph;
}

const flags = (n: INode): string[] => (n.attribute ?? []).filter((a) => a.name!.endsWith("_blocked")).map((a) => a.name!);

test("blocked layout: kept between kernels and element-wise ops, plain at graph inputs, other ops and partial blocks; stable weights blocked", () => {
  const graph = chain();
  const { model, stats } = dnnlConvs(graph, graphToModelProto(graph), dnnlProfile, new Set(["w1"]));
  const convs = model.graph!.node!.filter((n) => n.opType === "Conv");
  // stem: x is a graph input (plain), its output a is read by the next Conv only → blocked
  assert.deepEqual(flags(convs[0]!), ["out_blocked"]);
  // b is read by ReduceSum too: plain, and so is b · b (joined to b by the Mul); its 16×16 stable weight is reordered
  // to the blocked layout in the graph (Reshape → Transpose → Reshape, hoisted to once per weights)
  assert.deepEqual(flags(convs[1]!), ["in_blocked", "w_blocked"]);
  const reorder = model.graph!.node!.filter((n) => n.output![0]!.startsWith("w1__"));
  assert.deepEqual(
    reorder.map((n) => n.opType),
    ["Reshape", "Transpose", "Reshape"],
  );
  assert.equal(convs[1]!.input![1], reorder[2]!.output![0]);
  // fed on every run (not stable), the kernel reorders it itself
  const unstable = dnnlConvs(graph, graphToModelProto(graph), dnnlProfile).model.graph!.node!.filter((n) => n.opType === "Conv");
  assert.deepEqual(flags(unstable[1]!), ["in_blocked"]);
  // c has 8 channels: plain on both sides of it (and the weights around it); d feeds ReduceSum
  assert.deepEqual(flags(convs[2]!), []);
  assert.deepEqual(flags(convs[3]!), []);
  assert.equal(stats.blocked, 1);
});

test("blocked layout: outputs agree with ORT's plain Conv (stable weights reordered once)", { skip: noAddon }, async () => {
  const graph = chain();
  const feeds = { x: randomTensor("float32", [2, 3, 8, 8], { lo: -1, hi: 1, seed: 5, gap: 0 }), w1: w([16, 16, 3, 3], 2) };
  const prog = await new NodeExecutor({ profile: dnnlProfile }).compile(graph, { stableInputs: ["w1"] });
  const dnnl = await prog.run(feeds).finally(() => prog.dispose());
  const plain = await runOnProfile(PROFILES.cpu, graph, feeds);
  for (const v of graph.outputs) {
    const e = maxRelDiff(plain[v.name]!, dnnl[v.name]!);
    assert.ok(e < 1e-5, `${v.name}: max rel diff ${e.toExponential(2)}`);
  }
});
