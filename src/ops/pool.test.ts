import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor, toNumbers } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, distinctTensor, randomTensor } from "../testing/gradcheck.js";
import type { AveragePoolAttrs, MaxPoolAttrs } from "./attrs.js";

type PoolOp = "MaxPool" | "AveragePool";

/** Runs a one-node graph on ORT; returns the outputs and the shape rule's shapes. */
async function runPool(op: PoolOp, x: Tensor, attrs: MaxPoolAttrs, outputs = 1) {
  const graph = new Graph();
  const g = new Builder(graph);
  const xv = graph.addInput("x", x.dtype, [...x.shape]);
  const ys = g.add(op, [xv], attrs, { outputs });
  graph.outputs = ys;
  const prog = await nodeExecutor.compile(graph);
  try {
    const out = await prog.run({ x });
    return ys.map((y) => ({ rule: y.shape!, t: out[y.name]! }));
  } finally {
    await prog.dispose();
  }
}

test("MaxPool Indices from ORT are flat over N·C·H·W and pick the first of tied maxima", async () => {
  const x = distinctTensor("float32", [2, 3, 4, 4]);
  const [y, idx] = await runPool("MaxPool", x, { kernel_shape: [2, 2], strides: [2, 2] }, 2);
  assert.equal(idx!.t.dtype, "int64");
  const xv = toNumbers(x),
    iv = toNumbers(idx!.t),
    yv = toNumbers(y!.t);
  iv.forEach((i, j) => assert.equal(xv[i], yv[j]));
  // the last (n=1, c=2) plane's indices point into that plane
  assert.ok(iv.slice(-4).every((i) => i >= 5 * 16 && i < 6 * 16));
  const ties = await runPool("MaxPool", randomTensor("float32", [1, 1, 2, 2], { lo: 3, hi: 3 }), { kernel_shape: [2, 2] }, 2);
  assert.deepEqual(toNumbers(ties[1]!.t), [0]);
});

test("MaxPool gradients (float64): overlapping k3 s2 p1 with and without ceil_mode, k2 s2, dilation, SAME, 1-D", async () => {
  const cases: [number[], MaxPoolAttrs][] = [
    [[2, 3, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    [[2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }],
    [[1, 2, 6, 7], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }],
    [[2, 2, 6, 6], { kernel_shape: [2, 2], strides: [2, 2] }],
    [[1, 2, 7, 8], { kernel_shape: [2, 3], dilations: [2, 2], pads: [1, 0, 0, 1] }],
    [[1, 2, 7, 8], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: "SAME_UPPER", storage_order: 1 }],
    [[2, 3, 9], { kernel_shape: [3], strides: [2], pads: [1, 0] }],
  ];
  for (const [shape, attrs] of cases) {
    await checkGradient({ inputs: { x: distinctTensor("float64", shape, 5) }, build: (g, { x }) => g.one("MaxPool", [x!], attrs) });
  }
});

test("AveragePool gradients: count_include_pad 0 and 1, pads, ceil_mode, SAME, asymmetric pads", async () => {
  const cases: [number[], AveragePoolAttrs][] = [
    [[2, 2, 6, 6], { kernel_shape: [2, 2], strides: [2, 2] }],
    [[1, 2, 7, 6], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    [[1, 2, 6, 6], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }],
    [[1, 2, 6, 5], { kernel_shape: [3, 2], strides: [2, 3], ceil_mode: 1 }],
    [[1, 2, 6, 7], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: "SAME_UPPER" }],
    [[1, 2, 6, 7], { kernel_shape: [2, 3], strides: [1, 2], auto_pad: "SAME_LOWER" }],
    [[1, 2, 4, 4], { kernel_shape: [3, 3], pads: [2, 0, 1, 2] }],
    [[2, 2, 9], { kernel_shape: [4], strides: [3], pads: [2, 1], ceil_mode: 1 }],
  ];
  for (const [shape, base] of cases) {
    for (const count_include_pad of [0, 1]) {
      await checkGradient({
        inputs: { x: randomTensor("float32", shape, { seed: 3 }) },
        eps: 1e-1,
        rtol: 2e-2,
        atol: 1e-3,
        build: (g, { x }) => g.one("AveragePool", [x!], { ...base, count_include_pad }),
      });
    }
  }
});

test("GlobalAveragePool and GlobalMaxPool gradients", async () => {
  // distinctTensor's values are 2/size apart: a small step keeps every maximum in place
  const opts = { eps: 2e-3, rtol: 2e-2, atol: 1e-3 };
  await checkGradient({
    ...opts,
    inputs: { x: randomTensor("float32", [2, 3, 5, 4], { seed: 4 }) },
    build: (g, { x }) => g.one("GlobalAveragePool", [x!], {}),
  });
  await checkGradient({
    ...opts,
    inputs: { x: randomTensor("float32", [2, 3, 7], { seed: 4 }) },
    build: (g, { x }) => g.one("GlobalAveragePool", [x!], {}),
  });
  await checkGradient({
    ...opts,
    inputs: { x: distinctTensor("float32", [2, 3, 5, 4], 6) },
    build: (g, { x }) => g.one("GlobalMaxPool", [x!], {}),
  });
});

test("pool gradients with a symbolic batch match the static-batch graph", async () => {
  const build = [
    (g: Builder, x: Value) => g.one("MaxPool", [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
    (g: Builder, x: Value) => g.one("AveragePool", [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }),
    (g: Builder, x: Value) => g.one("GlobalAveragePool", [x], {}),
    (g: Builder, x: Value) => g.one("GlobalMaxPool", [x], {}),
  ];
  const x = distinctTensor("float32", [2, 3, 6, 6], 8);
  for (const f of build) {
    const run = async (batch: number | string) => {
      const graph = new Graph();
      const g = new Builder(graph);
      const xv = graph.addInput("x", "float32", [batch, 3, 6, 6]);
      const y = f(g, xv);
      assert.equal(y.shape![0], batch);
      graph.outputs = [g.reduceSum(g.mul(y, y), [], false)];
      const r = grad(graph, { loss: graph.outputs[0]!, wrt: [xv] });
      const prog = await nodeExecutor.compile(r.graph);
      try {
        return toNumbers((await prog.run({ x }))[r.grads[0]!.name]!);
      } finally {
        await prog.dispose();
      }
    };
    const [dyn, stat] = [await run("N"), await run(2)];
    dyn.forEach((v, j) => assert.ok(Math.abs(v - stat[j]!) < 1e-5, `[${j}]: ${v} vs ${stat[j]}`));
  }
});

test("GlobalAveragePool gradient with symbolic spatial dims divides by the run-time H·W", async () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const xv = graph.addInput("x", "float32", ["N", 2, "H", "W"]);
  const y = g.one("GlobalAveragePool", [xv], {});
  assert.deepEqual(y.shape, ["N", 2, 1, 1]);
  graph.outputs = [g.reduceSum(g.mul(y, y), [], false)];
  const r = grad(graph, { loss: graph.outputs[0]!, wrt: [xv] });
  const prog = await nodeExecutor.compile(r.graph);
  try {
    const x = randomTensor("float32", [3, 2, 4, 5], { seed: 9 });
    const dx = toNumbers((await prog.run({ x }))[r.grads[0]!.name]!);
    const xs = toNumbers(x);
    // d/dx Σ mean² = 2·mean / (H·W) at every position of the plane
    for (let p = 0; p < 6; p++) {
      const mean = xs.slice(p * 20, p * 20 + 20).reduce((a, b) => a + b, 0) / 20;
      for (let j = 0; j < 20; j++) assert.ok(Math.abs(dx[p * 20 + j]! - (2 * mean) / 20) < 1e-6);
    }
  } finally {
    await prog.dispose();
  }
});

test("pool shape rules agree with onnxruntime (ceil_mode drops a window starting in the end padding)", async () => {
  const cases: [PoolOp, number[], MaxPoolAttrs & AveragePoolAttrs][] = [
    ["MaxPool", [1, 1, 1, 5], { kernel_shape: [1, 3], strides: [1, 3], pads: [0, 0, 0, 2], ceil_mode: 1 }],
    ["MaxPool", [1, 1, 6, 7], { kernel_shape: [3, 2], strides: [2, 2], pads: [1, 0, 1, 1], ceil_mode: 1 }],
    ["MaxPool", [1, 1, 6, 7], { kernel_shape: [3, 2], strides: [2, 2], pads: [1, 0, 1, 1] }],
    ["MaxPool", [1, 1, 9, 7], { kernel_shape: [2, 3], strides: [3, 2], dilations: [3, 2], ceil_mode: 1 }],
    ["MaxPool", [1, 1, 7, 8], { kernel_shape: [2, 2], strides: [3, 3], auto_pad: "SAME_LOWER" }],
    ["AveragePool", [1, 1, 7, 8], { kernel_shape: [4, 3], strides: [3, 2], auto_pad: "SAME_UPPER" }],
    ["AveragePool", [1, 1, 7, 8], { kernel_shape: [4, 3], strides: [3, 2], auto_pad: "VALID", ceil_mode: 1 }],
    ["AveragePool", [1, 1, 6, 6], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 }],
  ];
  for (const [op, shape, attrs] of cases) {
    const [y] = await runPool(op, randomTensor("float32", shape), attrs);
    assert.deepEqual(y!.rule, y!.t.shape, `${op} ${JSON.stringify(attrs)}`);
  }
});

test("pool shape rules keep a symbolic batch; errors are one line naming the node", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", ["N", 16, 32, 32]);
  const [y, idx] = g.add("MaxPool", [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, { outputs: 2 });
  assert.deepEqual(y!.shape, ["N", 16, 16, 16]);
  assert.equal(idx!.dtype, "int64");
  assert.equal(g.add("MaxPool", [x], { kernel_shape: [2, 2] }).length, 1);
  assert.deepEqual(g.one("AveragePool", [x], { kernel_shape: [2, 2], strides: [2, 2] }).shape, ["N", 16, 16, 16]);
  assert.deepEqual(g.one("GlobalAveragePool", [x], {}).shape, ["N", 16, 1, 1]);
  assert.deepEqual(g.one("GlobalMaxPool", [x], {}).shape, ["N", 16, 1, 1]);
  const one = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => re.test(e.message) && !e.message.includes("\n"));
  one(
    () => g.add("AveragePool", [x], { kernel_shape: [2, 2], dilations: [2, 2] }, { name: "ap" }),
    /^AveragePool "ap": dilations \[2,2\] are not an AveragePool attribute at opset 17$/,
  );
  one(() => g.add("MaxPool", [x], { kernel_shape: [3] }, { name: "mp" }), /^MaxPool "mp": kernel \[3\] has 1 spatial dims, input has 2$/);
  one(
    () => g.add("MaxPool", [x], { kernel_shape: [40, 3] }, { name: "big" }),
    /^MaxPool "big": window 40 .* larger than spatial dim 0 of size 32/,
  );
  const v = graph.addInput("v", "float32", [4, 16]);
  one(() => g.add("GlobalMaxPool", [v], {}, { name: "gmp" }), /^GlobalMaxPool "gmp": input \[4,16\] must be \[N,C,spatial...\]/);
});

/** dx of MaxPool (no pads, no dilation) by definition: each window's dy goes to its first maximum in row-major order. */
function maxPoolGradRef(xv: number[], dyv: number[], [n, c, h, w]: number[], [kh, kw]: number[], [sh, sw]: number[]): number[] {
  const ho = Math.floor((h - kh) / sh) + 1,
    wo = Math.floor((w - kw) / sw) + 1;
  const dx = new Array<number>(xv.length).fill(0);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        let best = -1;
        for (let a = 0; a < kh; a++)
          for (let b = 0; b < kw; b++) {
            const at = p * h * w + (i * sh + a) * w + j * sw + b;
            if (best < 0 || xv[at]! > xv[best]!) best = at;
          }
        dx[best]! += dyv[(p * ho + i) * wo + j]!;
      }
    }
  }
  return dx;
}

test("MaxPool gradient with tied maxima: each window's dy goes to its first maximum (floor-mode crop, symbolic batch)", async () => {
  const cases: [number[], number[], string | number][] = [
    [[2, 3, 6, 8], [2, 2], 2],
    [[1, 2, 7, 9], [2, 3], "N"],
    [[2, 1, 9, 6], [3, 3], "N"],
  ];
  for (const [shape, k, batch] of cases) {
    // values from {0, 1, 2}: most windows have tied maxima
    const x = randomTensor("float32", shape, { seed: 11 });
    const xq = Float32Array.from(x.data as Float32Array, (v) => Math.floor(((v + 1) / 2) * 3));
    const graph = new Graph();
    const g = new Builder(graph);
    const xv = graph.addInput("x", "float32", [batch, ...shape.slice(1)]);
    const y = g.one("MaxPool", [xv], { kernel_shape: k, strides: k });
    const ho = Math.floor(shape[2]! / k[0]!),
      wo = Math.floor(shape[3]! / k[1]!);
    const wy = randomTensor("float32", [shape[0]!, shape[1]!, ho, wo], { seed: 12 });
    const wv = graph.addInput("w", "float32", [...wy.shape]);
    graph.outputs = [g.reduceSum(g.mul(y, wv), [], false)];
    const r = grad(graph, { loss: graph.outputs[0]!, wrt: [xv] });
    const prog = await nodeExecutor.compile(r.graph);
    try {
      const got = toNumbers((await prog.run({ x: { ...x, data: xq }, w: wy }))[r.grads[0]!.name]!);
      const want = maxPoolGradRef([...xq], toNumbers(wy), shape, k, k);
      got.forEach((v, j) => assert.ok(Math.abs(v - want[j]!) < 1e-6, `${shape} k${k} [${j}]: ${v} vs ${want[j]}`));
    } finally {
      await prog.dispose();
    }
  }
});

test("MaxPool float32 gradients with disjoint windows go through MaxUnpool (gaps, pads, ceil_mode); overlapping ones scatter", async () => {
  const cases: [number[], MaxPoolAttrs, string][] = [
    [[2, 3, 6, 8], { kernel_shape: [2, 2], strides: [2, 2] }, "MaxUnpool"],
    [[1, 2, 7, 9], { kernel_shape: [2, 2], strides: [3, 3] }, "MaxUnpool"],
    [[2, 2, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 0, 0, 1], ceil_mode: 1 }, "MaxUnpool"],
    [[2, 2, 9], { kernel_shape: [3], strides: [3] }, "MaxUnpool"],
    [[1, 2, 7, 7], { kernel_shape: [3, 3], strides: [2, 2] }, "ScatterElements"],
  ];
  for (const [shape, attrs, op] of cases) {
    // distinct values 2/size apart: a small step keeps every maximum in place
    await checkGradient({
      inputs: { x: distinctTensor("float32", shape, 9) },
      eps: 1e-3,
      rtol: 2e-2,
      atol: 1e-3,
      build: (g, { x }) => g.one("MaxPool", [x!], attrs),
    });
    const graph = new Graph();
    const g = new Builder(graph);
    const xv = graph.addInput("x", "float32", shape);
    graph.outputs = [g.reduceSum(g.one("MaxPool", [xv], attrs), [], false)];
    assert.ok(
      grad(graph, { loss: graph.outputs[0]!, wrt: [xv] }).graph.nodes.some((n) => n.op === op),
      `${JSON.stringify(attrs)} uses ${op}`,
    );
  }
});

test("MaxUnpool: shape rule (default size and output_shape) agrees with onnxruntime; gradient gathers dy at the indices", async () => {
  for (const withShape of [false, true]) {
    // the default size is (in − 1)·stride + kernel: 7 rows pool to 3 and unpool to 6, so only output_shape restores 7
    const x = distinctTensor("float32", [2, 3, withShape ? 7 : 6, 6], 10);
    const [y, idx] = await runPool("MaxPool", x, { kernel_shape: [2, 2], strides: [2, 2] }, 2);
    const graph = new Graph();
    const g = new Builder(graph);
    const yv = graph.addInput("y", "float32", [...y!.t.shape]);
    const iv = graph.addInput("i", "int64", [...idx!.t.shape]);
    const u = g.one("MaxUnpool", withShape ? [yv, iv, g.int64s([2, 3, 7, 6])] : [yv, iv], { kernel_shape: [2, 2], strides: [2, 2] });
    assert.deepEqual(u.shape, withShape ? [2, 3, 7, 6] : [2, 3, 6, 6]);
    graph.outputs = [u];
    const prog = await nodeExecutor.compile(graph);
    try {
      const out = (await prog.run({ y: y!.t, i: idx!.t }))[u.name]!;
      assert.deepEqual(out.shape, u.shape);
      if (withShape) {
        // every maximum back in its place, zeros elsewhere
        const xs = toNumbers(x),
          o = toNumbers(out),
          is = new Set(toNumbers(idx!.t));
        o.forEach((v, j) => assert.equal(v, is.has(j) ? xs[j] : 0));
      }
    } finally {
      await prog.dispose();
    }
  }
  const [y, idx] = await runPool("MaxPool", distinctTensor("float32", [2, 3, 7, 6], 10), { kernel_shape: [2, 2], strides: [2, 2] }, 2);
  await checkGradient({
    inputs: { y: y!.t },
    eps: 1e-1,
    rtol: 2e-2,
    atol: 1e-3,
    build: (g, { y: yv }) =>
      g.one("MaxUnpool", [yv!, g.constant(idx!.t), g.int64s([2, 3, 7, 6])], { kernel_shape: [2, 2], strides: [2, 2] }),
  });
});
