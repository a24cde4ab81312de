import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { grad } from "./grad.js";

test("fan-out: a value used three times accumulates all contributions", async () => {
  await checkGradient({
    inputs: { x: randomTensor("float64", [3, 4], { lo: 0.3, hi: 1 }) },
    build: (g, { x }) => g.mul(g.addv(g.exp(x!), x!), g.log(x!)),
  });
});

test("un-broadcasting: a [4] bias added to [2,3,4] gets the sum over the broadcast axes", async () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3, 4]);
  const b = graph.addInput("b", "float32", [4]);
  const loss = g.reduceSum(g.addv(x, b), [], false);
  const r = grad(graph, { loss, wrt: [b] });
  const prog = await nodeExecutor.compile(r.graph);
  const out = await prog.run({ x: tensor("float32", [2, 3, 4]), b: tensor("float32", [4]) });
  assert.deepEqual([...(out[r.grads[0]!.name]!.data as Float32Array)], [6, 6, 6, 6]);
  await prog.dispose();
});

test("straight-through marks a ReLU as identity for gradients (fake ReLU)", async () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [4]);
  const y = g.one("Relu", [x], {}, "fake_relu");
  const loss = g.reduceSum(g.mul(y, g.constant(tensor("float32", [4], [1, 2, 3, 4]))), [], false);
  const plain = grad(graph, { loss, wrt: [x] });
  const fake = grad(graph, { loss, wrt: [x], straightThrough: ["fake_relu"] });
  const feeds = { x: tensor("float32", [4], [-1, 1, -2, 2]) };
  const p1 = await nodeExecutor.compile(plain.graph);
  const p2 = await nodeExecutor.compile(fake.graph);
  assert.deepEqual([...((await p1.run(feeds))[plain.grads[0]!.name]!.data as Float32Array)], [0, 2, 0, 4]);
  assert.deepEqual([...((await p2.run(feeds))[fake.grads[0]!.name]!.data as Float32Array)], [1, 2, 3, 4]);
  await p1.dispose();
  await p2.dispose();
});

test("errors: non-scalar loss, loss independent of wrt, refused op", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3]);
  const z = graph.addInput("z", "float32", [2, 3]);
  assert.throws(() => grad(graph, { loss: g.exp(x), wrt: [x] }), /grad: loss "exp" must be a scalar, has shape \[2,3\]$/);
  const lz = g.reduceSum(z, [], false);
  assert.throws(() => grad(graph, { loss: lz, wrt: [x] }), /does not depend on "x"/);
  const p = g.reduceSum(g.one("ReduceProd", [x], { keepdims: 0 }), [], false);
  assert.throws(() => grad(graph, { loss: p, wrt: [x] }), /grad: cannot differentiate ReduceProd "reduceprod": /);
});

test("the source graph is left unchanged; integer paths contribute nothing", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3]);
  const am = g.cast(g.one("ArgMax", [x], { axis: 1, keepdims: 0 }), "float32");
  const loss = g.reduceSum(g.addv(g.reduceSum(x, [1], false), am), [], false);
  graph.outputs = [loss];
  const before = graph.nodes.length;
  const r = grad(graph, { loss, wrt: [x] });
  assert.equal(graph.nodes.length, before);
  assert.deepEqual(
    r.graph.outputs.map((v) => v.name),
    [loss.name, "x_grad"],
  );
});
