import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { type AxisResize, interpMatrix } from "./resize-interp.js";
import type { ResizeAttrs } from "./attrs.js";

interface Case {
  attrs: ResizeAttrs;
  shape: number[];
  scales?: number[];
  sizes?: number[];
  roi?: number[];
}

const COORDS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"];
const GEOMETRIES: Omit<Case, "attrs">[] = [
  { shape: [1, 2, 4, 5], scales: [1, 1, 2, 2] },
  { shape: [2, 1, 5, 6], scales: [1, 1, 1.6, 0.7] },
  { shape: [1, 1, 7, 4], sizes: [1, 1, 3, 9] },
  { shape: [1, 1, 6, 6], sizes: [1, 1, 6, 1] },
];
const CASES: Case[] = [
  ...["linear", "cubic", "nearest"].flatMap((mode) =>
    COORDS.flatMap((coordinate_transformation_mode) =>
      GEOMETRIES.map((geo) => ({ ...geo, attrs: { mode, coordinate_transformation_mode } })),
    ),
  ),
  ...GEOMETRIES.map((geo) => ({ ...geo, attrs: { mode: "cubic", cubic_coeff_a: -0.5, exclude_outside: 1 } })),
  ...GEOMETRIES.map((geo) => ({ ...geo, attrs: { mode: "cubic", coordinate_transformation_mode: "align_corners", exclude_outside: 1 } })),
  // crops partly outside the input: those outputs are the extrapolation value (0 here, so M's empty rows match)
  ...["linear", "cubic", "nearest"].map((mode) => ({
    shape: [1, 1, 5, 6],
    sizes: [1, 1, 4, 7],
    roi: [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3],
    attrs: { mode, coordinate_transformation_mode: "tf_crop_and_resize", extrapolation_value: 0 },
  })),
];

const describe = (c: Case) => `${JSON.stringify(c.attrs)} ${JSON.stringify(c.shape)} → ${JSON.stringify(c.scales ?? c.sizes)}`;

function resize(g: Builder, x: Value, c: Case): Value {
  const roi = c.roi ? g.constant(tensor("float32", [c.roi.length], c.roi)) : null;
  const scales = c.scales ? g.constant(tensor("float32", [4], c.scales)) : null;
  return g.one("Resize", [x, roi, scales, c.sizes ? g.int64s(c.sizes) : null], c.attrs);
}

/** The matrices the VJP transposes, applied forward: Mh x Mwᵀ. */
function byMatrices(g: Builder, x: Value, y: Value, c: Case): Value {
  const axis = (i: number): AxisResize => {
    const [inLen, outLen] = [c.shape[i]!, y.shape![i] as number];
    return {
      inLen,
      outLen,
      scale: c.scales ? Math.fround(c.scales[i]!) : Math.fround(outLen / inLen),
      mode: c.attrs.mode ?? "nearest",
      coord: c.attrs.coordinate_transformation_mode ?? "half_pixel",
      nearest: c.attrs.nearest_mode ?? "round_prefer_floor",
      cubicA: c.attrs.cubic_coeff_a ?? -0.75,
      excludeOutside: !!c.attrs.exclude_outside,
      roi: c.roi ? [c.roi[i]!, c.roi[i + 4]!] : [0, 1],
    };
  };
  const mh = g.constant(interpMatrix(axis(2), "float32", false)),
    mw = g.constant(interpMatrix(axis(3), "float32", true));
  return g.matmul(g.matmul(mh, x), mw);
}

test("Resize interpolation matrices reproduce ORT's Resize in every mode, coordinate mode, cubic option and crop", async () => {
  for (const c of CASES) {
    const graph = new Graph();
    const g = new Builder(graph);
    const x = graph.addInput("x", "float32", c.shape);
    const y = resize(g, x, c);
    graph.outputs = [y, byMatrices(g, x, y, c)];
    const prog = await nodeExecutor.compile(graph);
    try {
      const out = await prog.run({ x: randomTensor("float32", c.shape, { seed: 9 }) });
      const [a, b] = graph.outputs.map((v) => out[v.name]!) as [Tensor, Tensor];
      assert.deepEqual(a.shape, b.shape, describe(c));
      const worst = Array.from(a.data as Float32Array).reduce((m, v, i) => Math.max(m, Math.abs(v - Number(b.data[i]))), 0);
      assert.ok(worst < 1e-5, `${describe(c)}: max abs difference ${worst}`);
    } finally {
      await prog.dispose();
    }
  }
});

test("Resize linear and cubic gradients: numeric check in every coordinate mode", async () => {
  for (const c of CASES.filter((k) => k.attrs.mode !== "nearest" && k.shape[3] !== 6)) {
    await checkGradient({ inputs: { x: randomTensor("float32", c.shape, { seed: 10 }) }, rtol: 1e-3, build: (g, v) => resize(g, v.x!, c) });
  }
});

test("Resize tf_crop_and_resize: outputs outside the input take the extrapolation value and pass no gradient", async () => {
  for (const mode of ["linear", "cubic"]) {
    const c: Case = {
      shape: [1, 2, 5, 6],
      sizes: [1, 2, 4, 7],
      roi: [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3],
      attrs: { mode, coordinate_transformation_mode: "tf_crop_and_resize", extrapolation_value: 3.5 },
    };
    await checkGradient({ inputs: { x: randomTensor("float32", c.shape, { seed: 12 }) }, rtol: 1e-3, build: (g, v) => resize(g, v.x!, c) });
  }
});

test("Resize of a non-spatial axis refuses to differentiate in one line naming the node", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [1, 2, 4, 4]);
  const y = g.one("Resize", [x, null, g.constant(tensor("float32", [4], [1, 2, 2, 2]))], { mode: "linear" }, "up");
  graph.outputs = [g.reduceSum(y, [], false)];
  assert.throws(
    () => grad(graph, { loss: graph.outputs[0]!, wrt: [x] }),
    /^Error: grad: cannot differentiate Resize "up": axis 1 of input \[1,2,4,4\] is resized; only the last two axes may be \(NCHW, scales on H and W\)$/,
  );
});
