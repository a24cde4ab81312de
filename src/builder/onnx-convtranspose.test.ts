import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph, type Value } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { Builder } from "./builder.js";
import { addNormalized } from "./onnx-normalize.js";

interface Case {
  name: string;
  x: number[];
  w: number[];
  strides: number[];
  outputShape: number[];
  autoPad?: string;
  outputPadding?: number[];
  bias?: boolean;
}

/** ConvTranspose by the ONNX definition (2-D, one group): scatter x·W, then keep [begin, begin + out) of the full result. */
function reference(c: Case, x: Tensor, w: Tensor, b: Tensor | null): number[] {
  const [, ci, h, wd] = c.x,
    [, m, kh, kw] = c.w;
  const op = c.outputPadding ?? [0, 0];
  const begin = [0, 1].map((i) => {
    const natural = c.strides[i]! * ([h, wd][i]! - 1) + op[i]! + [kh, kw][i]!;
    const total = natural - c.outputShape[i]!,
      half = Math.floor(total / 2);
    return c.autoPad === "SAME_UPPER" ? half : total - half;
  });
  const [oh, ow] = c.outputShape;
  const y = new Array<number>(c.x[0]! * m! * oh! * ow!).fill(0);
  for (let n = 0; n < c.x[0]!; n++)
    for (let o = 0; o < m!; o++) {
      for (let p = 0; p < oh! * ow!; p++) y[(n * m! + o) * oh! * ow! + p] = b ? Number(b.data[o]) : 0;
      for (let i = 0; i < ci!; i++)
        for (let yy = 0; yy < h!; yy++)
          for (let xx = 0; xx < wd!; xx++)
            for (let a = 0; a < kh!; a++)
              for (let e = 0; e < kw!; e++) {
                const r = yy * c.strides[0]! + a - begin[0]!,
                  q = xx * c.strides[1]! + e - begin[1]!;
                if (r < 0 || r >= oh! || q < 0 || q >= ow!) continue;
                y[(n * m! + o) * oh! * ow! + r * ow! + q]! +=
                  Number(x.data[((n * ci! + i) * h! + yy) * wd! + xx]) * Number(w.data[((i * m! + o) * kh! + a) * kw! + e]);
              }
    }
  return y;
}

const attrsOf = (c: Case): Record<string, unknown> => ({
  strides: c.strides,
  output_shape: c.outputShape,
  ...(c.autoPad ? { auto_pad: c.autoPad } : {}),
  ...(c.outputPadding ? { output_padding: c.outputPadding } : {}),
});

/** The imported form of the node (what onnx-import builds), at opset 11. */
const imported = (g: Builder, c: Case, x: Value, w: Value, b: Value | null): Value =>
  addNormalized(g, { op: "ConvTranspose", name: "ct", inputs: [x, w, b], attrs: attrsOf(c), outputs: 1 }, 11)[0]!;

const CASES: Case[] = [
  // test_convtranspose_output_shape: one extra row and column, at the end
  { name: "larger by 1 (the backend test)", x: [1, 1, 3, 3], w: [1, 2, 3, 3], strides: [3, 2], outputShape: [10, 8] },
  { name: "larger by 3 and 2, with bias", x: [2, 2, 3, 2], w: [2, 3, 2, 3], strides: [2, 1], outputShape: [10, 6], bias: true },
  {
    name: "larger, SAME_UPPER split",
    x: [1, 1, 2, 3],
    w: [1, 1, 3, 2],
    strides: [2, 2],
    outputShape: [8, 9],
    autoPad: "SAME_UPPER",
    bias: true,
  },
  { name: "one dim larger, one smaller", x: [1, 2, 4, 4], w: [2, 1, 3, 3], strides: [2, 2], outputShape: [11, 6], outputPadding: [1, 0] },
  { name: "smaller (cropped), odd total", x: [1, 1, 4, 3], w: [1, 2, 3, 3], strides: [1, 2], outputShape: [5, 6], bias: true },
];

for (const c of CASES) {
  test(`ConvTranspose output_shape ${c.name}: forward matches the ONNX definition`, async () => {
    const x = randomTensor("float32", c.x, { seed: 3 }),
      w = randomTensor("float32", c.w, { seed: 4 }),
      b = c.bias ? randomTensor("float32", [c.w[1]!], { seed: 5 }) : null;
    const graph = new Graph();
    const g = new Builder(graph);
    const xv = graph.addInput("x", "float32", c.x),
      wv = graph.addInput("w", "float32", c.w),
      bv = b ? graph.addInput("b", "float32", b.shape) : null;
    const y = imported(g, c, xv, wv, bv);
    assert.deepEqual(y.shape, [c.x[0], c.w[1], ...c.outputShape]);
    // output_shape never reaches ORT, whose kernel splits odd totals its own way
    assert.ok(graph.nodes.every((n) => !("output_shape" in n.attrs)));
    graph.outputs = [y];
    const prog = await nodeExecutor.compile(graph);
    try {
      const out = (await prog.run({ x, w, ...(b ? { b } : {}) }))[y.name]!;
      const want = reference(c, x, w, b);
      const worst = want.reduce((m, v, i) => Math.max(m, Math.abs(v - Number(out.data[i]))), 0);
      assert.ok(worst < 1e-5, `max abs error ${worst}`);
    } finally {
      await prog.dispose();
    }
  });

  test(`ConvTranspose output_shape ${c.name}: gradients of x, W and bias`, async () => {
    await checkGradient({
      inputs: {
        x: randomTensor("float32", c.x, { seed: 6 }),
        w: randomTensor("float32", c.w, { seed: 7 }),
        ...(c.bias ? { b: randomTensor("float32", [c.w[1]!], { seed: 8 }) } : {}),
      },
      build: (g, v) => imported(g, c, v.x!, v.w!, v.b ?? null),
    });
  });
}

test("ConvTranspose built with an output_shape beyond the natural size: one-line error pointing to pads and a Pad", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [1, 1, 3, 3]),
    w = graph.addInput("w", "float32", [1, 2, 3, 3]);
  assert.throws(
    () => g.one("ConvTranspose", [x, w], { strides: [3, 2], output_shape: [10, 8] }),
    /^Error: ConvTranspose "convtranspose": output_shape \[10,8\] exceeds the natural output 9 of input size 3; give pads and a Pad after it$/,
  );
});
