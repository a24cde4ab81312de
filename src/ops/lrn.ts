// LRN (AlexNet/GoogLeNet-era local response normalization across channels): shape rule, VJP, and its form in basic ops.
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";
import { formatShape, isFloatDType, tensor } from "../ir/tensor.js";
import type { OpAttrMap } from "./attrs.js";
import type { OpTable } from "./types.js";
import { opLabel } from "./util.js";

type LrnAttrs = OpAttrMap["LRN"];

/** Σ of v over the channel window [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉] (or, transposed, the channels whose window holds c): a ones Conv. */
function channelWindowSum(g: Builder, v: Value, size: number, transposed: boolean, label: string): Value {
  const c = v.shape?.[1];
  if (typeof c !== "number" || v.rank === undefined)
    throw new Error(`${label}: needs a known rank and channel count, got ${formatShape(v.shape)}`);
  const lo = Math.floor((size - 1) / 2),
    hi = Math.ceil((size - 1) / 2);
  const flat = g.reshape(v, [0, 1, c, -1]);
  const ones = g.constant(tensor(v.dtype, [1, 1, size, 1], new Array<number>(size).fill(1)), "lrn_window");
  const pads = transposed ? [hi, 0, lo, 0] : [lo, 0, hi, 0];
  return g.reshape(g.conv(flat, ones, null, { pads, strides: [1, 1] }), g.shapeOf(v));
}

/** s = bias + α/size · Σ_window x², the denominator's base. */
function lrnScale(g: Builder, x: Value, a: LrnAttrs, label: string): Value {
  const sum = channelWindowSum(g, g.mul(x, x), a.size, false, label);
  return g.addv(g.scalarLike(a.bias ?? 1, x), g.mul(sum, g.scalarLike((a.alpha ?? 1e-4) / a.size, x)));
}

/** LRN in Mul, Pow, Conv and Reshape: y = x · s^−β (for backends without an LRN kernel). */
export function lrnComposed(g: Builder, x: Value, a: LrnAttrs, label: string): Value {
  return g.mul(x, g.pow(lrnScale(g, x, a, label), g.scalarLike(-(a.beta ?? 0.75), x)));
}

export const lrnOps: OpTable<"LRN"> = {
  LRN: {
    attrs: { alpha: "float", beta: "float", bias: "float", size: "int" },
    arity: [1, 1],
    infer: ({ node, inputs }) => {
      const label = opLabel("LRN", node.name);
      const x = inputs[0]!;
      if (!isFloatDType(x.dtype)) throw new Error(`${label}: input ${x} must be float`);
      if (!Number.isInteger(node.attrs.size) || node.attrs.size < 1)
        throw new Error(`${label}: size ${node.attrs.size} must be a positive integer`);
      // the spec allows even windows (reaching one channel further up), ORT's CPU kernel does not
      if (node.attrs.size % 2 === 0)
        throw new Error(`${label}: size ${node.attrs.size} must be odd (onnxruntime's LRN kernel refuses even windows)`);
      if (x.shape && x.shape.length < 3) throw new Error(`${label}: input ${formatShape(x.shape)} must be [N,C,spatial...]`);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    grad: {
      kind: "vjp",
      // y = x·s^−β, s = bias + α/size·W(x²)  ⇒  dx = dy·s^−β − (2αβ/size)·x·Wᵀ(dy·x·s^(−β−1))
      vjp: ({ g, node, x }, [dy]) => {
        const a = node.attrs,
          label = opLabel("LRN", node.name),
          xv = x[0]!;
        const beta = a.beta ?? 0.75;
        const s = lrnScale(g, xv, a, label);
        const direct = g.mul(dy!, g.pow(s, g.scalarLike(-beta, xv)));
        const inner = g.mul(g.mul(dy!, xv), g.pow(s, g.scalarLike(-beta - 1, xv)));
        const back = channelWindowSum(g, inner, a.size, true, label);
        return [g.sub(direct, g.mul(g.mul(xv, back), g.scalarLike((2 * (a.alpha ?? 1e-4) * beta) / a.size, xv)))];
      },
    },
  },
};
