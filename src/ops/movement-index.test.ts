import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";

const f64 = (shape: number[], seed = 5) => randomTensor("float64", shape, { seed });
// ORT CPU has no float64 Resize kernel; Resize is linear in x, so float32 differences are still accurate
const f32 = (shape: number[], seed = 5) => randomTensor("float32", shape, { seed });
const i64 = (shape: number[], vals: number[]) => tensor("int64", shape, vals);

test("Gather gradients: repeated, negative, 2-D, scalar and run-time indices", async () => {
  const x = () => f64([5, 4]);
  await checkGradient({ inputs: { x: x() }, build: (g, v) => g.one("Gather", [v.x!, g.constant(i64([3], [3, 0, 3]))], { axis: 0 }) });
  await checkGradient({
    inputs: { x: x() },
    build: (g, v) => g.one("Gather", [v.x!, g.constant(i64([2, 2], [1, -1, 0, 1]))], { axis: 1 }),
  });
  await checkGradient({
    inputs: { x: f64([3, 5, 2]) },
    build: (g, v) => g.one("Gather", [v.x!, g.constant(i64([2, 3], [4, 0, 4, -2, 1, 1]))], { axis: 1 }),
  });
  await checkGradient({ inputs: { x: x() }, build: (g, v) => g.one("Gather", [v.x!, g.constant(i64([], [-2]))], { axis: 0 }) });
  await checkGradient({
    inputs: { x: x(), i: i64([4], [1, 1, 3, 0]) },
    fixed: ["i"],
    build: (g, v) => g.one("Gather", [v.x!, v.i!], { axis: -1 }),
  });
});

test("GatherElements gradient accumulates repeated indices", async () => {
  await checkGradient({
    inputs: { x: f64([3, 4]) },
    build: (g, v) => g.one("GatherElements", [v.x!, g.constant(i64([3, 2], [0, 0, 3, 1, 2, -1]))], { axis: 1 }),
  });
  await checkGradient({
    inputs: { x: f64([3, 4]) },
    build: (g, v) => g.one("GatherElements", [v.x!, g.constant(i64([2, 4], [0, 2, 1, 1, 2, 2, 0, 0]))], { axis: 0 }),
  });
});

test("Split gradient concatenates, with zeros for outputs that do not reach the loss", async () => {
  await checkGradient({
    inputs: { x: f64([2, 6]) },
    build: (g, v) => {
      const [a, , c] = g.add("Split", [v.x!, g.int64s([1, 2, 3])], { axis: 1 }, { outputs: 3 });
      return g.concat([c!, a!], 1);
    },
  });
  await checkGradient({ inputs: { x: f64([4, 3]) }, build: (g, v) => g.concat(g.add("Split", [v.x!, g.int64s([3, 1])], {}).reverse(), 0) });
});

test("Tile gradient sums the copies", async () => {
  for (const reps of [
    [2, 1],
    [3, 2],
    [1, 3],
  ]) {
    await checkGradient({ inputs: { x: f64([2, 3]) }, build: (g, v) => g.one("Tile", [v.x!, g.int64s(reps)], {}) });
  }
});

const COORDS = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn"];
const NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

test("Resize nearest gradients: x2 in every coordinate and nearest mode", async () => {
  for (const coordinate_transformation_mode of COORDS) {
    for (const nearest_mode of NEAREST) {
      await checkGradient({
        inputs: { x: f32([1, 2, 3, 4]) },
        rtol: 1e-3,
        build: (g, v) =>
          g.one("Resize", [v.x!, null, g.constant(tensor("float32", [4], [1, 1, 2, 2]))], {
            mode: "nearest",
            coordinate_transformation_mode,
            nearest_mode,
          }),
      });
    }
  }
});

test("Resize nearest gradients: non-integer scales, sizes, downsampling and a 3-D input", async () => {
  for (const coordinate_transformation_mode of COORDS) {
    const attrs = { mode: "nearest", coordinate_transformation_mode };
    await checkGradient({
      rtol: 1e-3,
      inputs: { x: f32([2, 1, 5, 6]) },
      build: (g, v) => g.one("Resize", [v.x!, null, g.constant(tensor("float32", [4], [1, 1, 1.6, 0.7]))], attrs),
    });
    await checkGradient({
      rtol: 1e-3,
      inputs: { x: f32([1, 2, 4, 5]) },
      build: (g, v) => g.one("Resize", [v.x!, null, null, g.int64s([1, 2, 7, 3])], attrs),
    });
    await checkGradient({
      rtol: 1e-3,
      inputs: { x: f32([2, 3, 5]) },
      build: (g, v) => g.one("Resize", [v.x!, null, g.constant(tensor("float32", [3], [1, 1, 2.5]))], attrs),
    });
  }
});

test("Resize refuses to differentiate a mode it does not model, naming the node", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [1, 1, 2, 2]);
  const y = g.one("Resize", [x, null, g.constant(tensor("float32", [4], [1, 1, 2, 2]))], {
    mode: "linear",
    coordinate_transformation_mode: "half_pixel_symmetric",
  });
  assert.deepEqual(y.shape, [1, 1, 4, 4]);
  graph.outputs = [g.reduceSum(y, [], false)];
  assert.throws(
    () => grad(graph, { loss: graph.outputs[0]!, wrt: [x] }),
    /^Error: grad: cannot differentiate Resize "resize": coordinate_transformation_mode "half_pixel_symmetric" is not supported \(supported: half_pixel, /,
  );
});

/** Builds an op on a graph input (run by ORT) and on a constant (folded in JS); both must give the same tensor. */
async function foldMatchesOrt(x: Tensor, build: (g: Builder, x: Value) => Value): Promise<void> {
  const graph = new Graph();
  const g = new Builder(graph);
  const y = build(g, graph.addInput("x", x.dtype, [...x.shape]));
  graph.outputs = [y];
  const prog = await nodeExecutor.compile(graph);
  const out = (await prog.run({ x }))[y.name]!;
  await prog.dispose();
  const h = new Builder(new Graph());
  const folded = build(h, h.constant(x));
  assert.equal(folded.kind, "constant", `${y.producer?.op} did not fold`);
  assert.equal(folded.data!.dtype, out.dtype);
  assert.deepEqual(folded.data!.shape, out.shape);
  assert.deepEqual(toNumbers(folded.data!), toNumbers(out));
}

test("JS folding of the movement ops matches ORT", async () => {
  const x = tensor(
    "int64",
    [2, 3, 4],
    Array.from({ length: 24 }, (_, i) => i * 7 - 30),
  );
  const cases: ((g: Builder, x: Value) => Value)[] = [
    (g, v) => g.one("Gather", [v, g.constant(i64([2, 2], [2, -1, 0, 0]))], { axis: 1 }),
    (g, v) => g.one("GatherElements", [v, g.constant(i64([2, 3, 2], [0, 3, 1, 1, 2, -1, 3, 3, 0, 0, 1, 2]))], { axis: 2 }),
    (g, v) =>
      g.one("ScatterElements", [v, g.constant(i64([1, 2, 2], [0, 1, 1, 0])), g.constant(i64([1, 2, 2], [5, 6, 7, 8]))], { axis: 1 }),
    (g, v) =>
      g.one("ScatterElements", [v, g.constant(i64([2, 1, 2], [1, 1, 0, 1])), g.constant(i64([2, 1, 2], [5, 6, 7, 8]))], {
        axis: 0,
        reduction: "add",
      }),
    (g, v) => g.add("Split", [v, g.int64s([1, 3])], { axis: 2 })[1]!,
    (g, v) => g.one("Tile", [v, g.int64s([2, 1, 3])], {}),
    (g, v) => g.transpose(v, [1, 2, 0]),
    (g, v) => g.expand(g.slice(v, [0], [1], [1]), g.int64s([3, 2, 1, 4])),
    (g, v) => g.concat([v, g.slice(v, [1], [3], [1])], 1),
    (g, v) => g.flatten(v, 2),
    (g, v) => g.squeeze(g.unsqueeze(v, [0, 2]), [0]),
  ];
  for (const c of cases) await foldMatchesOrt(x, c);
});

test("index shape rules and their errors", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", ["N", 3, 4]);
  assert.deepEqual(g.one("Gather", [x, g.constant(i64([], [1]))], { axis: 1 }).shape, ["N", 4]);
  assert.deepEqual(g.one("GatherElements", [x, graph.addInput("i", "int64", ["N", 3, 2])], { axis: 2 }).shape, ["N", 3, 2]);
  assert.throws(
    () => g.add("Split", [x, g.int64s([1, 1])], { axis: 1 }),
    /^Error: Split "split": split \[1,1\] does not add up to dimension 1 of "x" float32\[N,3,4\]$/,
  );
  const parts = g.add("Split", [x], { axis: 2 }, { outputs: 2 });
  assert.equal(parts.length, 2);
  assert.deepEqual(
    g.add("Split", [x], { axis: 2, num_outputs: 3 }).map((v) => v.shape),
    [
      ["N", 3, 2],
      ["N", 3, 2],
      ["N", 3, 0],
    ],
  );
  assert.throws(
    () => g.one("Gather", [g.constant(i64([3], [1, 2, 3])), g.constant(i64([1], [3]))], {}),
    /^Error: Gather "gather(_\d+)?": index 3 out of range for an axis of size 3$/,
  );
});

test("gradients through a symbolic batch equal those with a static batch", async () => {
  const x = f64([2, 3, 4], 9);
  const fs: ((g: Builder, v: Value) => Value)[] = [
    (g, v) => g.flatten(g.transpose(v, [0, 2, 1])),
    (g, v) => g.concat([v, g.slice(v, [2, -1], [-9223372036854775808, -5], [1, 2], [-2, -1])], 1),
    (g, v) => g.pad(g.slice(v, [-3], [9223372036854775807], [2]), [0, 1, 0, 0, 0, 2]),
    (g, v) => g.one("Gather", [v, g.constant(i64([2, 2], [0, 2, 2, 1]))], { axis: 1 }),
    (g, v) => g.one("Tile", [v, g.int64s([2, 1, 2])], {}),
    // ORT CPU has no float64 Resize: run it in float32 between casts
    (g, v) =>
      g.cast(
        g.one("Resize", [g.cast(g.unsqueeze(v, [1]), "float32"), null, g.constant(tensor("float32", [4], [1, 1, 2, 1.5]))], {
          mode: "nearest",
        }),
        "float64",
      ),
    (g, v) => g.expand(g.unsqueeze(v, [2]), g.int64s([1, 1, 3, 1])),
  ];
  for (const f of fs) {
    const grads: Tensor[] = [];
    for (const batch of [2, "N"] as const) {
      const graph = new Graph();
      const g = new Builder(graph);
      const v = graph.addInput("x", "float64", [batch, 3, 4]);
      const y = f(g, v);
      const loss = g.reduceSum(g.mul(y, y), [], false);
      graph.outputs = [loss];
      const r = grad(graph, { loss, wrt: [v] });
      const prog = await nodeExecutor.compile(r.graph);
      grads.push((await prog.run({ x }))[r.grads[0]!.name]!);
      await prog.dispose();
    }
    assert.deepEqual(grads[1]!.shape, [2, 3, 4]);
    assert.deepEqual(toNumbers(grads[1]!), toNumbers(grads[0]!));
  }
});
