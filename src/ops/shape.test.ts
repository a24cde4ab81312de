import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { ONNX_DTYPE_CODE, tensor, toNumbers } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";

function fresh(): { graph: Graph; g: Builder } {
  const graph = new Graph();
  return { graph, g: new Builder(graph) };
}

test("Shape folds when the requested dims are static, even for a run-time input", () => {
  const { graph, g } = fresh();
  const x = graph.addInput("x", "float32", ["N", 3, 8, 8]);
  const y = g.relu(x);
  const tail = g.one("Shape", [y], { start: 1 });
  assert.equal(tail.kind, "constant");
  assert.deepEqual(toNumbers(tail.data!), [3, 8, 8]);
  assert.deepEqual(toNumbers(g.one("Shape", [y], { start: -2, end: -1 }).data!), [8]);
  const full = g.shapeOf(y);
  assert.equal(full.kind, "node");
  assert.deepEqual(full.shape, [4]);
  // Gather and Slice on the full shape fold when they pick static dims only
  const c = g.one("Gather", [full, g.constant(tensor("int64", [], [1]))], { axis: 0 });
  assert.equal(c.kind, "constant");
  assert.deepEqual(c.data!.shape, []);
  assert.deepEqual(toNumbers(c.data!), [3]);
  const hw = g.slice(full, [-2], [9223372036854775807], [0]);
  assert.deepEqual(toNumbers(hw.data!), [8, 8]);
  assert.equal(g.one("Gather", [full, g.int64s([0, 1])], { axis: 0 }).kind, "node");
  assert.equal(g.one("Size", [y], {}).kind, "node");
  assert.deepEqual(toNumbers(g.one("Size", [g.one("Gather", [y, g.constant(tensor("int64", [], [0]))], { axis: 0 })], {}).data!), [3 * 64]);
});

test("PyTorch integer shape arithmetic folds away: Shape, Gather, Cast, Mod, ConstantOfShape, Range, Concat", () => {
  const { graph, g } = fresh();
  const x = graph.addInput("x", "float32", [2, 6, 5]);
  const s = g.shapeOf(x);
  const w = g.one("Gather", [s, g.constant(tensor("int64", [], [2]))], { axis: 0 });
  const half = g.one("Div", [g.cast(w, "float32"), g.scalar(2)], {});
  const odd = g.one("Mod", [w, g.scalar(2, "int64")], {});
  const zeros = g.one("ConstantOfShape", [g.unsqueeze(odd, [0])], { value: tensor("int64", [1], [0]) });
  const r = g.one("Range", [g.scalar(0, "int64"), w, g.scalar(2, "int64")], {});
  const target = g.concat([g.unsqueeze(g.cast(g.one("Floor", [half], {}), "int64"), [0]), zeros, g.int64s([-1])], 0);
  const y = g.reshape(x, target);
  assert.deepEqual(toNumbers(r.data!), [0, 2, 4]);
  assert.deepEqual(toNumbers(target.data!), [2, 0, -1]);
  assert.deepEqual(y.shape, [2, 6, 5]);
  assert.deepEqual(
    graph.nodes.map((n) => n.op),
    ["Reshape"],
  );
});

test("ConstantOfShape, Range and Constant: values, dtypes and shapes", () => {
  const { graph, g } = fresh();
  const z = g.one("ConstantOfShape", [g.int64s([2, 3])], {});
  assert.equal(z.data!.dtype, "float32");
  assert.deepEqual(toNumbers(z.data!), [0, 0, 0, 0, 0, 0]);
  const big = g.one("ConstantOfShape", [g.int64s([2])], { value: tensor("int64", [1], [9223372036854775807]) });
  assert.equal((big.data!.data as BigInt64Array)[1], 9223372036854775807n);
  const x = graph.addInput("x", "float32", ["N", 3]);
  const zx = g.one("ConstantOfShape", [g.shapeOf(x)], { value: tensor("float64", [1], [1]) });
  assert.deepEqual([zx.kind, zx.dtype, zx.shape], ["node", "float64", ["N", 3]]);
  assert.deepEqual(toNumbers(g.one("Range", [g.scalar(1), g.scalar(2.2), g.scalar(0.5)], {}).data!), [1, 1.5, 2]);
  assert.deepEqual(toNumbers(g.one("Range", [g.scalar(5, "int64"), g.scalar(1, "int64"), g.scalar(-2, "int64")], {}).data!), [5, 3]);
  assert.equal(g.one("Range", [g.scalar(5, "int64"), g.scalar(9, "int64"), g.scalar(-2, "int64")], {}).data!.shape[0], 0);
  const cases: [object, string, number[], number[]][] = [
    [{ value: tensor("float64", [2], [1, 2]) }, "float64", [2], [1, 2]],
    [{ value_float: 1.5 }, "float32", [], [1.5]],
    [{ value_floats: [1, 2, 3] }, "float32", [3], [1, 2, 3]],
    [{ value_int: 7 }, "int64", [], [7]],
    [{ value_ints: [4, 5] }, "int64", [2], [4, 5]],
  ];
  for (const [attrs, dtype, shape, vals] of cases) {
    const c = g.one("Constant", [], attrs);
    assert.deepEqual([c.kind, c.dtype, c.shape, toNumbers(c.data!)], ["constant", dtype, shape, vals]);
  }
  assert.throws(() => g.one("Constant", [], {}), /^Error: Constant "constant(_\d+)?": needs exactly one value attribute, has 0$/);
});

test("unfolded shape ops run on ORT and agree with their folds", async () => {
  const { graph, g } = fresh();
  const x = graph.addInput("x", "float32", ["N", 3, 2]);
  const lim = graph.addInput("lim", "int64", []);
  const outs = [
    g.shapeOf(x),
    g.one("Shape", [x], { start: -2 }),
    g.one("Size", [x], {}),
    g.one("ConstantOfShape", [g.shapeOf(x)], { value: tensor("int64", [1], [4]) }),
    g.one("Range", [g.scalar(1, "int64"), lim, g.scalar(3, "int64")], {}),
    g.add("Constant", [], { value_floats: [0.5] }, { fold: false })[0]!,
  ];
  graph.outputs = outs;
  const prog = await nodeExecutor.compile(graph);
  const res = await prog.run({ x: tensor("float32", [4, 3, 2]), lim: tensor("int64", [], [8]) });
  await prog.dispose();
  const got = outs.map((o) => [res[o.name]!.dtype, res[o.name]!.shape, toNumbers(res[o.name]!)]);
  assert.deepEqual(got, [
    ["int64", [3], [4, 3, 2]],
    ["int64", [2], [3, 2]],
    ["int64", [], [24]],
    ["int64", [4, 3, 2], new Array(24).fill(4)],
    ["int64", [3], [1, 4, 7]],
    ["float32", [1], [0.5]],
  ]);
});

test("shape ops carry no gradient and never stop differentiation", () => {
  const { graph, g } = fresh();
  const x = graph.addInput("x", "float64", ["N", 3]);
  // x * ConstantOfShape(Shape(x)) * Cast(Size(x)): the shape paths contribute nothing
  const ones = g.one("ConstantOfShape", [g.shapeOf(x)], { value: tensor("float64", [1], [1]) });
  const n = g.cast(g.one("Size", [x], {}), "float64");
  const y = g.reduceSum(g.mul(g.mul(x, ones), n), [], false);
  graph.outputs = [y];
  const r = grad(graph, { loss: y, wrt: [x] });
  assert.equal(r.grads.length, 1);
  assert.equal(ONNX_DTYPE_CODE[r.grads[0]!.dtype], ONNX_DTYPE_CODE.float64);
});
