// Shape-family ops: Shape, Size, ConstantOfShape, Range, Constant. All fold when their result is known; none has a gradient.
import type { Node } from "../ir/graph.js";
import { type Tensor, allocData, sizeOf, tensor } from "../ir/tensor.js";
import { freshShape, isStaticDims, label, scalarOf, shapeRange, symInts, vectorLength } from "./movement-util.js";
import type { InferCtx, OpTable } from "./types.js";
import { FOLD_LIMIT, fromNumbers } from "./util.js";

const none = { kind: "none" } as const;

/** The dims Shape returns, or undefined when the input's rank is unknown. */
function shapeDims(ctx: InferCtx<"Shape">) {
  const s = ctx.inputs[0]!.shape;
  if (!s) return undefined;
  const [lo, hi] = shapeRange(s.length, ctx.node.attrs.start, ctx.node.attrs.end);
  return s.slice(lo, Math.max(lo, hi));
}

const DEFAULT_FILL: Tensor = tensor("float32", [1], [0]);

function fillValue(ctx: { node: Node<"ConstantOfShape"> }): Tensor {
  const v = ctx.node.attrs.value ?? DEFAULT_FILL;
  if (v.data.length !== 1) throw new Error(`${label(ctx)}: value must hold exactly one element, has ${v.data.length}`);
  return v;
}

/** The tensor a Constant node stands for, from whichever value attribute it carries. */
function constantValue(node: Node<"Constant">): Tensor {
  const a = node.attrs;
  const given = Object.entries(a).filter(([, v]) => v !== undefined);
  if (given.length !== 1) throw new Error(`${label({ node })}: needs exactly one value attribute, has ${given.length}`);
  if (a.value) return a.value;
  if (a.value_float !== undefined) return tensor("float32", [], [a.value_float]);
  if (a.value_floats) return tensor("float32", [a.value_floats.length], a.value_floats);
  if (a.value_int !== undefined) return tensor("int64", [], [a.value_int]);
  return tensor("int64", [a.value_ints!.length], a.value_ints!);
}

function rangeCount(ctx: InferCtx<"Range">): number | undefined {
  const [s, l, d] = ctx.consts;
  if (!s || !l || !d) return undefined;
  const delta = scalarOf(d);
  if (delta === 0) throw new Error(`${label(ctx)}: delta is 0`);
  return Math.max(Math.ceil((scalarOf(l) - scalarOf(s)) / delta), 0);
}

export const shapeOps: OpTable<"Shape" | "Size" | "ConstantOfShape" | "Range" | "Constant"> = {
  Shape: {
    attrs: { start: "int", end: "int" },
    arity: [1, 1],
    infer: (ctx) => {
      const d = shapeDims(ctx);
      return [{ dtype: "int64", shape: [d ? d.length : ctx.freshDim()] }];
    },
    // folds whenever the requested dims are static, though the input itself is computed at run time
    fold: (ctx) => {
      const d = shapeDims(ctx);
      return d && isStaticDims(d) ? [tensor("int64", [d.length], d)] : undefined;
    },
    grad: none,
  },
  Size: {
    attrs: {},
    arity: [1, 1],
    infer: () => [{ dtype: "int64", shape: [] }],
    fold: (ctx) => {
      const s = ctx.inputs[0]!.shape;
      return s && isStaticDims(s) ? [tensor("int64", [], [sizeOf(s)])] : undefined;
    },
    grad: none,
  },
  ConstantOfShape: {
    stopGradient: [0],
    attrs: { value: "tensor" },
    arity: [1, 1],
    infer: (ctx) => {
      const dims = symInts(ctx.inputs[0]);
      if (dims?.some((d) => typeof d === "number" && d < 0))
        throw new Error(`${label(ctx)}: negative dimension in shape [${dims.join(",")}]`);
      return [{ dtype: fillValue(ctx).dtype, shape: dims ?? freshShape(ctx, vectorLength(ctx.inputs[0]!)) }];
    },
    fold: (ctx) => {
      const dims = symInts(ctx.inputs[0]);
      if (!dims || !isStaticDims(dims) || sizeOf(dims) > FOLD_LIMIT) return undefined;
      const v = fillValue(ctx);
      const data = allocData(v.dtype, sizeOf(dims));
      (data as unknown as { fill(x: unknown): void }).fill(v.data[0]);
      return [tensor(v.dtype, dims, data)];
    },
    grad: none,
  },
  Range: {
    attrs: {},
    arity: [3, 3],
    infer: (ctx) => [{ dtype: ctx.inputs[0]!.dtype, shape: [rangeCount(ctx) ?? ctx.freshDim()] }],
    fold: (ctx) => {
      const n = rangeCount(ctx);
      if (n === undefined || n > FOLD_LIMIT) return undefined;
      const [s, d] = [scalarOf(ctx.consts[0]!), scalarOf(ctx.consts[2]!)];
      return [
        fromNumbers(
          ctx.inputs[0]!.dtype,
          [n],
          Array.from({ length: n }, (_, i) => s + i * d),
        ),
      ];
    },
    grad: none,
  },
  Constant: {
    attrs: { value: "tensor", value_float: "float", value_floats: "floats", value_int: "int", value_ints: "ints" },
    arity: [0, 0],
    infer: (ctx) => {
      const t = constantValue(ctx.node);
      return [{ dtype: t.dtype, shape: [...t.shape] }];
    },
    fold: (ctx) => [constantValue(ctx.node)],
    grad: none,
  },
};
