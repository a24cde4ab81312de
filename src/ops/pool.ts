// Max, average and global pools: shape rules per ONNX and ORT (auto_pad, ceil_mode) and VJPs from standard ops.
import type { Builder } from "../builder/builder.js";
import type { Dim, Node, Value } from "../ir/graph.js";
import { formatShape, isFloatDType, tensor } from "../ir/tensor.js";
import type { OpAttrMap, OpType, PoolAttrs } from "./attrs.js";
import { adjointWindow } from "./conv.js";
import type { InferCtx, OpTable, ValueType } from "./types.js";
import { opLabel } from "./util.js";
import { maxPoolMaskVjp } from "./pool-mask.js";
import { runs } from "./profile.js";
import { type Window, forwardWindow, overlap } from "./window.js";

const POOL_SCHEMA = {
  auto_pad: "string",
  ceil_mode: "int",
  dilations: "ints",
  kernel_shape: "ints",
  pads: "ints",
  strides: "ints",
} as const;
const noSymbol = (): string => {
  throw new Error("internal: symbolic size while building a gradient");
};

function checkInput(label: string, x: Value): void {
  if (!isFloatDType(x.dtype)) throw new Error(`${label}: input ${x.toString()} must be float`);
  if (x.shape && x.shape.length < 3)
    throw new Error(`${label}: input ${formatShape(x.shape)} must be [N,C,spatial...] with at least one spatial dim`);
}

/** The output shape of a windowed pool, or null when the input's rank is unknown. */
function poolShape(label: string, x: Value, a: PoolAttrs, freshDim: () => string): Dim[] | null {
  checkInput(label, x);
  if (!a.kernel_shape) throw new Error(`${label}: kernel_shape is required`);
  if (!x.shape) return null;
  return [x.shape[0]!, x.shape[1]!, ...forwardWindow(label, x.shape.slice(2), a, a.kernel_shape, freshDim).out];
}

/** Resolved window with explicit pads for a VJP (static spatial sizes required). */
function poolGeometry(node: Node<"MaxPool"> | Node<"AveragePool">, x: Value): { win: Window & { pads: number[] }; xs: number[] } {
  const xs = x.shape?.slice(2);
  const label = opLabel(node.op, node.name);
  if (!xs || !xs.every((d) => typeof d === "number"))
    throw new Error(`${label}: the gradient needs static spatial sizes, input is ${formatShape(x.shape)}`);
  const win = forwardWindow(label, xs, node.attrs, node.attrs.kernel_shape, noSymbol);
  return { win: win as Window & { pads: number[] }, xs: xs as number[] };
}

/** x's shape for a Reshape: numbers when static (folds away), a Shape node otherwise (symbolic batch). */
const shapeFor = (g: Builder, x: Value): readonly number[] | Value => x.staticShape ?? g.shapeOf(x);

/** ORT's AveragePool divisor per output position (C-order): window ∩ [−pad_begin, size+pad_end) with count_include_pad, else ∩ [0, size). */
export function averageDivisors(win: Window & { pads: number[] }, xs: readonly number[], countPad: boolean): number[] {
  const n = xs.length;
  let out = [1];
  for (let i = 0; i < n; i++) {
    const lo = countPad ? -win.pads[i]! : 0,
      hi = countPad ? xs[i]! + win.pads[i + n]! : xs[i]!;
    const per = Array.from({ length: win.out[i] as number }, (_, o) => overlap(o * win.s[i]! - win.pads[i]!, win.k[i]!, lo, hi));
    out = out.flatMap((v) => per.map((c) => v * c));
  }
  return out;
}

function globalInfer<K extends OpType>({ node, inputs }: InferCtx<K>): ValueType[] {
  const x = inputs[0]!;
  checkInput(opLabel(node.op, node.name), x);
  return [{ dtype: x.dtype, shape: x.shape ? [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] : null }];
}

export const poolOps: OpTable<"MaxPool" | "MaxUnpool" | "AveragePool" | "GlobalAveragePool" | "GlobalMaxPool"> = {
  MaxPool: {
    attrs: { ...POOL_SCHEMA, storage_order: "int" },
    arity: [1, 1],
    // Indices only when the model asks for them
    outputs: () => 1,
    infer: ({ node, inputs, freshDim }) => {
      const x = inputs[0]!;
      const shape = poolShape(opLabel("MaxPool", node.name), x, node.attrs, freshDim);
      return [
        { dtype: x.dtype, shape },
        { dtype: "int64", shape },
      ];
    },
    grad: {
      kind: "vjp",
      // dx[i] = Σ_{o : argmax(window o) = i} dy[o]: scatter-add dy at MaxPool's Indices (flat over N·C·H·W in ORT)
      // NOTE: a tie goes to the first maximum of the window (ORT's index), not shared among the tied inputs
      vjp: ({ g, node, x, y, profile }, [dy]) => {
        if (!dy) return [null];
        const xv = x[0]!;
        const { win, xs } = poolGeometry(node, xv);
        // storage_order only changes how Indices are written; the gradient reads them in row-major order
        const attrs = { ...node.attrs };
        delete attrs.storage_order;
        const disjoint = dy.dtype === "float32" && win.k.every((k, i) => win.s[i]! >= (k - 1) * win.d[i]! + 1);
        const placer = disjoint
          ? runs(profile, "MaxUnpool", { kernel_shape: win.k })
          : runs(profile, "ScatterElements", { reduction: "add" });
        // backends without Indices (WebGPU) get the equality-mask formulation instead
        if (!runs(profile, "MaxPool", attrs, 2) || !placer) return [maxPoolMaskVjp(g, xv, y[0]!, dy, win, xs)];
        const idx = g.add("MaxPool", [xv], attrs, { outputs: 2 })[1]!;
        // disjoint windows give distinct indices: MaxUnpool places dy there (far faster on ORT than a scatter-add; float only)
        if (disjoint) {
          const ua: OpAttrMap["MaxUnpool"] = { kernel_shape: win.k, strides: win.s, pads: win.pads };
          const dx = g.one("MaxUnpool", [dy, idx, xv.staticShape ? g.int64s(xv.staticShape) : g.shapeOf(xv)], ua);
          // x's own (symbolic) shape, which a run-time output_shape operand hides from shape inference
          dx.shape = xv.shape;
          return [dx];
        }
        const size = xv.staticShape?.reduce((a, b) => a * b, 1);
        const zeros =
          size !== undefined
            ? g.one("ConstantOfShape", [g.int64s([size])], { value: tensor(xv.dtype, [1], [0]) })
            : g.reshape(g.zerosLike(xv), [-1]);
        const flat = g.one("ScatterElements", [zeros, g.reshape(idx, [-1]), g.reshape(dy, [-1])], { axis: 0, reduction: "add" });
        return [g.reshape(flat, shapeFor(g, xv))];
      },
    },
  },
  MaxUnpool: {
    stopGradient: [1, 2],
    attrs: { kernel_shape: "ints", pads: "ints", strides: "ints" },
    arity: [2, 3],
    infer: ({ node, inputs, consts, freshDim }) => {
      const label = opLabel("MaxUnpool", node.name);
      const [x, idx] = [inputs[0]!, inputs[1]!];
      checkInput(label, x);
      if (idx.dtype !== "int64") throw new Error(`${label}: indices ${idx.toString()} must be int64`);
      const given = consts[2];
      if (given) return [{ dtype: x.dtype, shape: Array.from(given.data, Number) }];
      if (inputs[2] || !x.shape)
        return [{ dtype: x.dtype, shape: inputs[2]?.staticShape ? Array.from({ length: inputs[2].staticShape[0]! }, freshDim) : null }];
      // default size: (in − 1)·stride − pads + kernel
      const n = x.shape.length - 2,
        k = node.attrs.kernel_shape,
        s = node.attrs.strides ?? k.map(() => 1),
        p = node.attrs.pads ?? new Array<number>(2 * n).fill(0);
      const sp = x.shape.slice(2).map((d, i) => (typeof d === "number" ? (d - 1) * s[i]! - p[i]! - p[i + n]! + k[i]! : freshDim()));
      return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...sp] }];
    },
    grad: {
      kind: "vjp",
      // y[I[j]] = x[j] (flat, distinct indices)  ⇒  dx[j] = dy[I[j]]
      // NOTE: with repeated indices ORT keeps one write; every repeat still reads dy there
      vjp: ({ g, x }, [dy]) => {
        if (!dy) return [null, null, null];
        const gathered = g.one("GatherElements", [g.reshape(dy, [-1]), g.reshape(x[1]!, [-1])], { axis: 0 });
        return [g.reshape(gathered, shapeFor(g, x[0]!)), null, null];
      },
    },
  },
  AveragePool: {
    attrs: { ...POOL_SCHEMA, count_include_pad: "int" },
    arity: [1, 1],
    infer: ({ node, inputs, freshDim }) => {
      const label = opLabel("AveragePool", node.name);
      // opset 17's AveragePool has no dilations (ORT rejects the attribute); opset 19 added them
      if (node.attrs.dilations !== undefined)
        throw new Error(`${label}: dilations ${formatShape(node.attrs.dilations)} are not an AveragePool attribute at opset 17`);
      const x = inputs[0]!;
      return [{ dtype: x.dtype, shape: poolShape(label, x, node.attrs, freshDim) }];
    },
    grad: {
      kind: "vjp",
      // dx[i] = Σ_{windows o ∋ i} dy[o] / divisor[o]: ConvTranspose of dy/divisor with a ones kernel, channels folded into batch
      vjp: ({ g, node, x }, [dy]) => {
        if (!dy) return [null];
        const xv = x[0]!;
        const { win, xs } = poolGeometry(node, xv);
        const outSp = win.out as number[];
        const div = averageDivisors(win, xs, (node.attrs.count_include_pad ?? 0) !== 0);
        const uniform = div.every((v) => v === div[0]);
        const scale = uniform
          ? g.scalarLike(1 / div[0]!, dy)
          : g.constant(
              tensor(
                dy.dtype,
                outSp,
                div.map((v) => 1 / v),
              ),
              "avgpool_scale",
            );
        const folded = g.reshape(g.mul(dy, scale), [-1, 1, ...outSp]);
        const ones = g.constant(
          tensor(dy.dtype, [1, 1, ...win.k], new Array<number>(win.k.reduce((a, b) => a * b, 1)).fill(1)),
          "ones_kernel",
        );
        return [g.reshape(adjointWindow(g, folded, ones, win, 1, xs), shapeFor(g, xv))];
      },
    },
  },
  GlobalAveragePool: {
    attrs: {},
    arity: [1, 1],
    infer: globalInfer,
    grad: {
      kind: "vjp",
      // d mean_{hw} x = dy / (H·W), broadcast over the spatial dims
      vjp: ({ g, x }, [dy]) => {
        if (!dy) return [null];
        const xv = x[0]!;
        const sp = xv.shape!.slice(2);
        let size: Value;
        if (sp.every((d) => typeof d === "number"))
          size = g.scalarLike(
            (sp as number[]).reduce((a, b) => a * b, 1),
            dy,
          );
        else {
          const spatial = g.slice(g.shapeOf(xv), [2], [sp.length + 2], [0]);
          size = g.cast(g.one("ReduceProd", [spatial], { keepdims: 0 }), dy.dtype);
        }
        return [g.expand(g.div(dy, size), g.shapeOf(xv))];
      },
    },
  },
  GlobalMaxPool: {
    attrs: {},
    arity: [1, 1],
    infer: globalInfer,
    grad: {
      kind: "vjp",
      // d max_{hw} x = dy · (x == y)
      // NOTE: every tied maximum receives the full dy (MaxPool instead gives it to the first one only)
      vjp: ({ g, x, y }, [dy]) => {
        if (!dy) return [null];
        const xv = x[0]!;
        return [g.mul(g.cast(g.equal(xv, y[0]!), xv.dtype), dy)];
      },
    },
  },
};
