import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";

const f64 = (shape: number[], seed = 3) => randomTensor("float64", shape, { seed });
const I64_MAX = 9223372036854775807,
  I64_MIN = -9223372036854775808;

function fresh(): { graph: Graph; g: Builder } {
  const graph = new Graph();
  return { graph, g: new Builder(graph) };
}

async function run(graph: Graph, outputs: Value[], feeds: Record<string, Tensor>): Promise<Tensor[]> {
  graph.outputs = outputs;
  const prog = await nodeExecutor.compile(graph);
  try {
    const res = await prog.run(feeds);
    return outputs.map((o) => res[o.name]!);
  } finally {
    await prog.dispose();
  }
}

test("movement shape rules keep a symbolic batch", () => {
  const { graph, g } = fresh();
  const x = graph.addInput("x", "float32", ["N", 3, 4, 4]);
  assert.deepEqual(g.flatten(x).shape, ["N", 48]);
  assert.deepEqual(g.flatten(x, 0).shape, [1, "N*48"]);
  assert.deepEqual(g.reshape(x, [0, -1]).shape, ["N", 48]);
  assert.deepEqual(g.reshape(x, [-1, 16]).shape, ["N*3", 16]);
  assert.deepEqual(g.reshape(x, [-1, 3, 16]).shape, ["N", 3, 16]);
  assert.deepEqual(g.transpose(x, [0, 2, 3, 1]).shape, ["N", 4, 4, 3]);
  assert.deepEqual(g.unsqueeze(x, [1, -1]).shape, ["N", 1, 3, 4, 4, 1]);
  assert.deepEqual(g.squeeze(g.unsqueeze(x, [1]), [1]).shape, ["N", 3, 4, 4]);
  assert.deepEqual(g.one("Squeeze", [x], {}).shape, null);
  assert.deepEqual(g.concat([x, x], 1).shape, ["N", 6, 4, 4]);
  assert.deepEqual(g.slice(x, [1], [I64_MAX], [1]).shape, ["N", 2, 4, 4]);
  assert.deepEqual(g.slice(x, [0, -1], [I64_MAX, I64_MIN], [0, 3], [1, -2]).shape, ["N", 3, 4, 2]);
  assert.deepEqual(g.pad(x, [0, 0, 1, 1, 0, 0, 1, 1]).shape, ["N", 3, 6, 6]);
  assert.deepEqual(g.expand(g.reshape(x, [0, 3, 4, 4, 1]), g.int64s([1, 1, 1, 1, 5])).shape, ["N", 3, 4, 4, 5]);
  assert.deepEqual(g.one("Resize", [x, null, g.constant(tensor("float32", [4], [1, 1, 2, 1.5]))], { mode: "nearest" }).shape, [
    "N",
    3,
    8,
    6,
  ]);
  assert.deepEqual(g.one("Tile", [x, g.int64s([2, 1, 1, 3])], {}).shape, ["N*2", 3, 4, 12]);
  assert.deepEqual(g.one("Gather", [x, g.int64s([0, 2])], { axis: 1 }).shape, ["N", 2, 4, 4]);
  assert.deepEqual(
    g.add("Split", [x, g.int64s([1, 2])], { axis: 1 }).map((v) => v.shape),
    [
      ["N", 1, 4, 4],
      ["N", 2, 4, 4],
    ],
  );
  // a run-time shape operand still gives the rank, with fresh symbols
  const s = graph.addInput("s", "int64", [3]);
  const r = g.reshape(x, s).shape!;
  assert.equal(r.length, 3);
  assert.ok(r.every((d) => typeof d === "string"));
});

test("a PyTorch-style shape chain folds to a Reshape with a constant shape", () => {
  for (const batch of [2, "N"] as const) {
    const { graph, g } = fresh();
    const x = graph.addInput("x", "float32", [batch, 3, 4, 4]);
    const n = g.one("Gather", [g.shapeOf(x), g.constant(tensor("int64", [], [0]))], { axis: 0 });
    const target = g.concat([g.unsqueeze(n, [0]), g.int64s([-1])], 0);
    const y = g.reshape(x, target);
    assert.deepEqual(y.shape, [batch, 48]);
    const ops = graph.nodes.map((m) => m.op);
    if (batch === 2) {
      assert.deepEqual(ops, ["Reshape"]);
      assert.equal(y.producer!.inputs[1]!.kind, "constant");
      assert.deepEqual(toNumbers(y.producer!.inputs[1]!.data!), [2, -1]);
    } else {
      assert.deepEqual(ops, ["Shape", "Gather", "Unsqueeze", "Concat", "Reshape"]);
    }
  }
});

test("the dynamic shape chain runs on ORT with the batch known only at run time", async () => {
  const { graph, g } = fresh();
  const x = graph.addInput("x", "float32", ["N", 3, 4]);
  const n = g.one("Gather", [g.shapeOf(x), g.constant(tensor("int64", [], [0]))], { axis: 0 });
  const y = g.reshape(x, g.concat([g.unsqueeze(n, [0]), g.int64s([-1])], 0));
  const [out] = await run(graph, [y], { x: tensor("float32", [5, 3, 4]) });
  assert.deepEqual(out!.shape, [5, 12]);
});

/** ONNX Slice by its definition, per axis, on a nested index walk. */
function sliceRef(t: Tensor, starts: number[], ends: number[], axes: number[], steps: number[]): { shape: number[]; vals: number[] } {
  const picks = t.shape.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((a, k) => {
    const d = t.shape[a]!,
      st = steps[k]!;
    let s = starts[k]! < 0 ? starts[k]! + d : starts[k]!,
      e = ends[k]! < 0 ? ends[k]! + d : ends[k]!;
    const idx: number[] = [];
    if (st > 0) {
      s = Math.max(0, Math.min(s, d));
      e = Math.max(0, Math.min(e, d));
      for (let i = s; i < e; i += st) idx.push(i);
    } else {
      s = Math.max(0, Math.min(s, d - 1));
      e = Math.max(-1, Math.min(e, d - 1));
      for (let i = s; i > e; i += st) idx.push(i);
    }
    picks[a] = idx;
  });
  const vals: number[] = [];
  const v = toNumbers(t);
  const walk = (a: number, off: number) => {
    if (a === t.shape.length) {
      vals.push(v[off]!);
      return;
    }
    const stride = t.shape.slice(a + 1).reduce((p, q) => p * q, 1);
    for (const i of picks[a]!) walk(a + 1, off + i * stride);
  };
  walk(0, 0);
  return { shape: picks.map((p) => p.length), vals };
}

const SLICES: [number[], number[], number[], number[]][] = [
  [[-3], [I64_MAX], [2], [1]],
  [
    [1, -2],
    [I64_MAX, -1],
    [0, 1],
    [1, 1],
  ],
  [[-1], [I64_MIN], [1], [-1]],
  [
    [0, 5],
    [I64_MAX, 0],
    [2, 1],
    [2, -2],
  ],
  [
    [1, -1, 4],
    [3, I64_MIN, 0],
    [0, 2, 1],
    [2, -3, -1],
  ],
  [[10], [20], [2], [1]],
];

test("Slice semantics: ORT, the shape rule and the JS fold agree with the definition", async () => {
  const x = tensor(
    "float64",
    [4, 5, 6],
    Array.from({ length: 120 }, (_, i) => i),
  );
  for (const [starts, ends, axes, steps] of SLICES) {
    const ref = sliceRef(x, starts, ends, axes, steps);
    const { graph, g } = fresh();
    const y = g.slice(graph.addInput("x", "float64", [4, 5, 6]), starts, ends, axes, steps);
    assert.deepEqual(y.shape, ref.shape);
    const [out] = await run(graph, [y], { x });
    assert.deepEqual(out!.shape, ref.shape);
    assert.deepEqual(toNumbers(out!), ref.vals);
    const folded = fresh().g.slice(fresh().g.constant(x), starts, ends, axes, steps);
    assert.equal(folded.kind, "constant");
    assert.deepEqual(toNumbers(folded.data!), ref.vals);
  }
});

test("Slice gradients: negative starts, INT64 extremes, steps -1, 2 and -3, several axes", async () => {
  for (const [starts, ends, axes, steps] of SLICES.slice(0, 5)) {
    await checkGradient({ inputs: { x: f64([4, 5, 6]) }, build: (g, v) => g.slice(v.x!, starts, ends, axes, steps) });
  }
});

test("Slice gradient with starts computed at run time", async () => {
  await checkGradient({
    inputs: { x: f64([4, 5, 6]), s: tensor("int64", [2], [-3, 1]) },
    fixed: ["s"],
    // the slice's sizes are run-time symbols; the Reshape makes the checked output static
    build: (g, v) => g.reshape(g.one("Slice", [v.x!, v.s!, g.int64s([I64_MAX, 4]), g.int64s([2, 0])], {}), [3, 5, 3]),
  });
});

test("Flatten, Reshape, Transpose, Squeeze, Unsqueeze and Expand gradients", async () => {
  const x = () => ({ x: f64([2, 3, 4]) });
  await checkGradient({ inputs: x(), build: (g, v) => g.flatten(v.x!, 2) });
  await checkGradient({ inputs: x(), build: (g, v) => g.reshape(v.x!, [4, -1]) });
  await checkGradient({ inputs: x(), build: (g, v) => g.transpose(v.x!, [2, 0, 1]) });
  await checkGradient({ inputs: x(), build: (g, v) => g.one("Transpose", [v.x!], {}) });
  await checkGradient({ inputs: x(), build: (g, v) => g.unsqueeze(v.x!, [0, 3]) });
  await checkGradient({ inputs: { x: f64([2, 1, 4, 1]) }, build: (g, v) => g.squeeze(v.x!, [1]) });
  await checkGradient({ inputs: { x: f64([2, 1, 4, 1]) }, build: (g, v) => g.one("Squeeze", [v.x!], {}) });
  await checkGradient({ inputs: { x: f64([3, 1]) }, build: (g, v) => g.expand(v.x!, g.int64s([2, 3, 4])) });
});

test("Concat gradient splits dy among the inputs", async () => {
  await checkGradient({
    inputs: { a: f64([2, 1, 3], 1), b: f64([2, 4, 3], 2), c: f64([2, 2, 3], 3) },
    build: (g, v) => g.concat([v.a!, v.b!, v.c!], -2),
  });
  await checkGradient({ inputs: { a: f64([2, 3], 1), b: f64([2, 3], 2) }, fixed: ["b"], build: (g, v) => g.concat([v.a!, v.b!], 0) });
});

test("Pad (constant) gradients with static pads, crops, and pads computed at run time", async () => {
  await checkGradient({ inputs: { x: f64([2, 3, 4]) }, build: (g, v) => g.pad(v.x!, [0, 1, 2, 1, 0, 3]) });
  await checkGradient({ inputs: { x: f64([2, 3, 4]) }, build: (g, v) => g.pad(v.x!, [0, -1, 2, 1, 0, -2], g.scalar(0.5, "float64")) });
  for (const [pads, out] of [
    [
      [0, 1, 2, 1, 0, 3],
      [3, 4, 9],
    ],
    [
      [1, -1, 0, 0, 2, -2],
      [3, 4, 2],
    ],
  ]) {
    await checkGradient({
      inputs: { x: f64([2, 3, 4]), p: tensor("int64", [6], pads!) },
      fixed: ["p"],
      build: (g, v) => g.reshape(g.pad(v.x!, v.p!), out!),
    });
  }
});

test("Pad reflect and edge gradients: border rows fold back onto the rows they copy", async () => {
  for (const mode of ["reflect", "edge"]) {
    for (const pads of [
      [0, 2, 1, 0, 1, 3],
      [1, 0, 0, 1, 2, 0],
    ]) {
      await checkGradient({
        inputs: { x: f64([2, 3, 4]) },
        build: (g, v) => g.one("Pad", [v.x!, g.int64s(pads)], { mode }),
      });
    }
  }
  // edge pads may exceed the axis (reflect's may not): every padded row is row 0's or row n−1's
  await checkGradient({ inputs: { x: f64([2, 3]) }, build: (g, v) => g.one("Pad", [v.x!, g.int64s([3, 0, 4, 5])], { mode: "edge" }) });
});

test("Pad folding in every mode matches ORT", async () => {
  const x = tensor("float64", [2, 3], [1, 2, 3, 4, 5, 6]);
  for (const mode of ["constant", "reflect", "edge"]) {
    const pads = [1, 2, 1, 2];
    const { graph, g } = fresh();
    const y = g.one("Pad", [graph.addInput("x", "float64", [2, 3]), g.int64s(pads), mode === "constant" ? g.scalar(9, "float64") : null], {
      mode,
    });
    const [out] = await run(graph, [y], { x });
    const h = fresh().g;
    const folded = h.one("Pad", [h.constant(x), h.int64s(pads), mode === "constant" ? h.scalar(9, "float64") : null], { mode });
    assert.equal(folded.kind, "constant");
    assert.deepEqual(toNumbers(folded.data!), toNumbers(out!), mode);
  }
});

test("gradient errors: reflect Pad past the axis, ScatterElements, and a Reshape to a wrong size", () => {
  const { graph, g } = fresh();
  const x = graph.addInput("x", "float32", [2, 3]);
  const p = g.one("Pad", [x, g.int64s([2, 1, 1, 1])], { mode: "reflect" });
  graph.outputs = [g.reduceSum(p, [], false)];
  assert.throws(
    () => grad(graph, { loss: graph.outputs[0]!, wrt: [x] }),
    /^Error: grad: cannot differentiate Pad "pad": mode "reflect" needs constant non-negative pads smaller than the axis and static sizes on the padded axes \("x" float32\[2,3\], pads \[2,1,1,1\]\)$/,
  );
  const s = g.one("ScatterElements", [x, g.constant(tensor("int64", [1, 3], [0, 1, 0])), x], { axis: 0 });
  graph.outputs = [g.reduceSum(s, [], false)];
  assert.throws(() => grad(graph, { loss: graph.outputs[0]!, wrt: [x] }), /ScatterElements .*only emitted by gradient graphs/);
  assert.throws(
    () => g.reshape(x, [4, 2]),
    (e: Error) => {
      assert.equal(e.message, `Reshape "reshape": cannot reshape "x" float32[2,3] (6 elements) to [4,2] (8 elements)`);
      return true;
    },
  );
  assert.throws(
    () => g.reshape(x, [4, -1]),
    /^Error: Reshape "reshape(_\d+)?": cannot reshape "x" float32\[2,3\] to \[4,-1\]: 6 elements do not divide into 4$/,
  );
  assert.throws(() => g.squeeze(x, [0]), /^Error: Squeeze "squeeze": cannot squeeze axis 0 of "x" float32\[2,3\] \(size 2\)$/);
});

test("Reshape/Squeeze/Unsqueeze gradients on zero-size tensors keep the 0 dims (was: allowzero 0 copied them)", async () => {
  const { grad } = await import("../autodiff/grad.js");
  const { nodeExecutor } = await import("../runtime/node.js");
  const { tensor } = await import("../ir/tensor.js");
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [3, 0, 4]);
  const r = g.one("Reshape", [x, g.int64s([0, 3, 4])], { allowzero: 1 });
  const y = g.squeeze(g.unsqueeze(r, [0]), [0]);
  const loss = g.reduceSum(g.mul(y, y), [], false);
  graph.outputs = [loss];
  const gr = grad(graph, { loss, wrt: ["x"] });
  const prog = await nodeExecutor.compile(gr.graph);
  const out = await prog.run({ x: tensor("float32", [3, 0, 4], []) });
  await prog.dispose();
  assert.deepEqual(out[gr.grads[0]!.name]!.shape, [3, 0, 4]);
});
