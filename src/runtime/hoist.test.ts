import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { graphToModelProto } from "../builder/onnx-export.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor } from "../ir/tensor.js";
import { PROFILES } from "../ops/profile.js";
import { randomTensor } from "../testing/gradcheck.js";
import { fitGraph } from "./fit.js";
import { hoistStable } from "./hoist.js";
import { blockConvs } from "./nchwc.js";
import { NodeExecutor, nchwcBlockOfCpu } from "./node.js";

const block = nchwcBlockOfCpu();
const profiles = [
  { name: "plain", profile: PROFILES.cpu },
  ...(block ? [{ name: "NCHWc", profile: { ...PROFILES.cpu, nchwcBlock: block } }] : []),
];
const rand = (shape: number[], seed: number, lo = -1, hi = 1): Tensor => randomTensor("float32", shape, { lo, hi, seed, gap: 0 });

/** Conv → inference BN → ReLU → conv on fed weights, its input gradient, and an output of the weights alone. */
function attackLike(): { graph: Graph; weights: string[]; feeds: (seed: number) => Record<string, Tensor> } {
  const graph = new Graph();
  const g = new Builder(graph);
  const shapes: Record<string, number[]> = {
    x: [2, 16, 6, 6],
    w0: [16, 16, 3, 3],
    w1: [32, 16, 3, 3],
    s: [16],
    b: [16],
    m: [16],
    v: [16],
  };
  const v: Record<string, Value> = {};
  for (const [k, s] of Object.entries(shapes)) v[k] = graph.addInput(k, "float32", s);
  const y0 = g.conv(v.x!, v.w0!, null, { pads: [1, 1, 1, 1] });
  const bn = g.add("BatchNormalization", [y0, v.s!, v.b!, v.m!, v.v!], { epsilon: 1e-5 }, { name: "bn" })[0]!;
  const out = g.reduceSum(g.conv(g.relu(bn), v.w1!, null, { pads: [1, 1, 1, 1] }), [], false);
  const wsum = g.reduceSum(v.w1!, [], false);
  graph.outputs = [out, wsum];
  const gr = grad(graph, { loss: out, wrt: ["x"] });
  gr.graph.outputs = [out, gr.grads[0]!, wsum].map((o) => gr.graph.value(o.name));
  const feeds = (seed: number): Record<string, Tensor> => ({
    x: rand(shapes.x!, 1),
    w0: rand(shapes.w0!, seed, -0.3, 0.3),
    w1: rand(shapes.w1!, seed + 1, -0.3, 0.3),
    s: rand(shapes.s!, seed + 2, 0.5, 2),
    b: rand(shapes.b!, seed + 3),
    m: rand(shapes.m!, seed + 4),
    v: rand(shapes.v!, seed + 5, 0.5, 2),
  });
  return { graph: gr.graph, weights: ["w0", "w1", "s", "b", "m", "v"], feeds };
}

test("hoistStable moves the weights' own computations (reorders, flipped weights) into a program of their own", () => {
  const { graph, weights } = attackLike();
  for (const { name, profile } of profiles) {
    const fitted = fitGraph(graph, profile);
    const model = profile.nchwcBlock
      ? blockConvs(fitted, graphToModelProto(fitted), { block: profile.nchwcBlock }).model
      : graphToModelProto(fitted);
    const split = hoistStable(fitted, model, weights);
    assert.ok(split, `${name}: nothing hoisted`);
    const preOps = split.pre.graph!.node!.map((n) => n.opType);
    assert.ok(preOps.includes("Transpose"), `${name}: no weight transpose hoisted (${preOps.join(", ")})`);
    assert.ok(!split.pre.graph!.node!.some((n) => n.input!.includes("x")), `${name}: the stable program reads the image`);
    assert.deepEqual(split.outputs, [graph.outputs[2]!.name], `${name}: the weights-only output is the stable program's`);
    // every input of the main program is fed: a graph input or a stable value
    const names = new Set([...graph.inputs.map((v) => v.name), ...split.values]);
    for (const i of split.main.graph!.input!) assert.ok(names.has(i.name!), `${name}: main input "${i.name}" has no feed`);
  }
  assert.equal(hoistStable(graph, graphToModelProto(graph), ["nope"]), undefined);
});

test("a program with stable inputs gives the same results, reuses them for the same tensors and redoes them for new ones", async () => {
  const { graph, weights, feeds } = attackLike();
  for (const { name, profile } of profiles) {
    const exec = new NodeExecutor({ profile });
    const plain = await exec.compile(graph);
    const hoisted = await exec.compile(graph, { stableInputs: weights });
    try {
      const f1 = feeds(10),
        f2 = feeds(20);
      const want1 = await plain.run(f1),
        want2 = await plain.run(f2);
      assert.deepEqual(hoisted.inputNames, plain.inputNames);
      assert.deepEqual(hoisted.outputNames, plain.outputNames);
      for (const [f, want, what] of [
        [f1, want1, "first weights"],
        [f1, want1, "same tensors again"],
        [{ ...f1, x: feeds(10).x }, want1, "same weights, new image tensor"],
        [f2, want2, "new weights"],
        [{ ...f2, w1: f1.w1! }, await plain.run({ ...f2, w1: f1.w1! }), "one weight changed back"],
      ] as const) {
        const got = await hoisted.run(f);
        for (const o of plain.outputNames)
          assert.deepEqual(Array.from(got[o]!.data as Float32Array), Array.from(want[o]!.data as Float32Array), `${name}, ${what}: ${o}`);
      }
      const only = await hoisted.run(f1, [graph.outputs[2]!.name]);
      assert.deepEqual(Object.keys(only), [graph.outputs[2]!.name]);
      // dropStable lets the kept results go; the next run makes them again, with the same results
      const kept = () => (hoisted as unknown as { hoisted: { last?: unknown } }).hoisted.last;
      assert.ok(kept(), `${name}: results kept`);
      await hoisted.dropStable!();
      assert.equal(kept(), undefined, `${name}: dropped`);
      const again = await hoisted.run(f1);
      for (const o of plain.outputNames)
        assert.deepEqual(
          Array.from(again[o]!.data as Float32Array),
          Array.from(want1[o]!.data as Float32Array),
          `${name}, after dropStable: ${o}`,
        );
    } finally {
      await plain.dispose();
      await hoisted.dispose();
    }
  }
});
