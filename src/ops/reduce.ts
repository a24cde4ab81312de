// Reductions, Softmax/LogSoftmax, ArgMax/ArgMin and TopK.
import type { Builder } from "../builder/builder.js";
import type { Dim, Value } from "../ir/graph.js";
import type { OpType } from "./attrs.js";
import type { InferCtx, OpDef, OpTable, ValueType, VjpCtx } from "./types.js";
import { formatShape } from "../ir/tensor.js";
import { ints, normAxis, opLabel } from "./util.js";

/** Normalized reduction axes of a node ([] = all), from the axes input (ReduceSum) or attribute (others). */
function axesOf(node: { op: string; name: string; attrs: { axes?: number[] } }, x: Value, axesInput?: Value | null): number[] | undefined {
  const r = x.rank;
  if (r === undefined) return undefined;
  let axes: number[] | undefined;
  if (node.op === "ReduceSum") {
    if (!axesInput) return [];
    axes = ints(axesInput.data);
    // run-time axes (opset 13 lets them be any int64 input): sizes, and rank without keepdims, are known at run time only
    if (!axes) return undefined;
  } else axes = node.attrs.axes ?? [];
  return axes.map((a) => normAxis(a, r, opLabel(node.op, node.name))).sort((p, q) => p - q);
}

function reduceInfer<K extends OpType>(ctx: InferCtx<K>): ValueType[] {
  const x = ctx.inputs[0]!;
  const attrs = ctx.node.attrs as { keepdims?: number; noop_with_empty_axes?: number; axes?: number[] };
  const axes = axesOf(ctx.node as never, x, ctx.inputs[1]);
  // reducing every axis without keepdims gives a scalar whatever the rank
  const everyAxis = ctx.node.op === "ReduceSum" ? !ctx.inputs[1] || ctx.inputs[1].shape?.[0] === 0 : !attrs.axes?.length;
  if (everyAxis && !attrs.noop_with_empty_axes && (attrs.keepdims ?? 1) === 0) return [{ dtype: x.dtype, shape: [] }];
  if (x.shape && axes === undefined && (attrs.keepdims ?? 1) === 1) return [{ dtype: x.dtype, shape: x.shape.map(() => ctx.freshDim()) }];
  if (!x.shape || axes === undefined) return [{ dtype: x.dtype, shape: null }];
  if (axes.length === 0 && attrs.noop_with_empty_axes) return [{ dtype: x.dtype, shape: x.shape }];
  const all = axes.length === 0;
  const keep = attrs.keepdims ?? 1;
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (all || axes.includes(i)) {
      if (keep) shape.push(1);
    } else shape.push(d);
  });
  return [{ dtype: x.dtype, shape }];
}

/** dy (or y) reshaped with the reduced axes kept as 1s, ready to broadcast against x. */
function keptDims(ctx: VjpCtx<OpType>, v: Value): Value {
  const { node, x, g } = ctx;
  const attrs = node.attrs as { keepdims?: number };
  if ((attrs.keepdims ?? 1) === 1) return v;
  // run-time ReduceSum axes: Unsqueeze takes the same input (empty axes: dy is a scalar, or x itself under noop_with_empty_axes)
  if (node.op === "ReduceSum" && x[1] && !x[1].data) return g.one("Unsqueeze", [v, x[1]], {});
  let axes = axesOf(node as never, x[0]!, x[1]) ?? [];
  if (axes.length === 0) axes = Array.from({ length: x[0]!.rank! }, (_, i) => i);
  return g.unsqueeze(v, axes);
}

function reducedCount(g: Builder, x: Value, y: Value): Value {
  const xs = x.staticShape,
    ys = y.staticShape;
  if (xs && ys)
    return g.scalarLike(
      xs.reduce((a, b) => a * b, 1) /
        Math.max(
          1,
          ys.reduce((a, b) => a * b, 1),
        ),
      x,
    );
  return g.cast(g.div(g.one("Size", [x], {}), g.one("Size", [y], {})), x.dtype);
}

function reduceOp<K extends OpType>(grad: OpDef<K>["grad"], withAxesAttr = true): OpDef<K> {
  return {
    attrs: (withAxesAttr
      ? { axes: "ints", keepdims: "int" }
      : { keepdims: "int", noop_with_empty_axes: "int" }) as unknown as OpDef<K>["attrs"],
    arity: withAxesAttr ? [1, 1] : [1, 2],
    infer: reduceInfer,
    grad,
  };
}

const expandBack = (ctx: VjpCtx<OpType>, v: Value) => ctx.g.expand(keptDims(ctx, v), ctx.g.shapeOf(ctx.x[0]!));

/** Where x attains the reduced extremum, dy shared among ties. */
function extremumVjp(ctx: VjpCtx<OpType>, dy: Value): Value {
  const { g, x, y } = ctx;
  const mask = g.cast(g.equal(x[0]!, keptDims(ctx, y[0]!)), dy.dtype);
  const count = g.reduceSum(mask, axesOf(ctx.node as never, x[0]!) ?? [], true);
  return g.div(g.mul(mask, keptDims(ctx, dy)), count);
}

function softmaxAxis(ctx: VjpCtx<"Softmax" | "LogSoftmax">): number {
  return normAxis(ctx.node.attrs.axis ?? -1, ctx.x[0]!.rank!, opLabel(ctx.node.op, ctx.node.name));
}

/** ArgMax/ArgMin: int64 indices along one axis (integer-valued, no gradient). */
function argOp<K extends "ArgMax" | "ArgMin">(op: K): OpDef<K> {
  return {
    attrs: { axis: "int", keepdims: "int", select_last_index: "int" } as OpDef<K>["attrs"],
    arity: [1, 1],
    infer: ({ node, inputs }) => {
      const x = inputs[0]!;
      if (!x.shape) return [{ dtype: "int64", shape: null }];
      const attrs = node.attrs as { axis?: number; keepdims?: number };
      const a = normAxis(attrs.axis ?? 0, x.shape.length, opLabel(op, node.name));
      const shape = x.shape.flatMap((d, i) => (i === a ? ((attrs.keepdims ?? 1) ? [1] : []) : [d]));
      return [{ dtype: "int64", shape }];
    },
    grad: { kind: "none" },
  };
}

type Ks =
  | "ReduceSum"
  | "ReduceMean"
  | "ReduceMax"
  | "ReduceMin"
  | "ReduceL2"
  | "ReduceProd"
  | "ReduceL1"
  | "ReduceSumSquare"
  | "ReduceLogSum"
  | "ReduceLogSumExp"
  | "Softmax"
  | "LogSoftmax"
  | "ArgMax"
  | "ArgMin"
  | "TopK";

export const reduceOps: OpTable<Ks> = {
  // d sum(x) = expand(dy)
  // the axes input is an integer operand
  ReduceSum: { ...reduceOp({ kind: "vjp", vjp: (c, [dy]) => [expandBack(c as VjpCtx<OpType>, dy!)] }, false), stopGradient: [1] },
  // d mean(x) = expand(dy) / n
  ReduceMean: reduceOp({
    kind: "vjp",
    vjp: (c, [dy]) => [c.g.div(expandBack(c as VjpCtx<OpType>, dy!), reducedCount(c.g, c.x[0]!, c.y[0]!))],
  }),
  // d max(x) = dy * [x == max] / #ties   NOTE: ties share dy equally
  ReduceMax: reduceOp({ kind: "vjp", vjp: (c, [dy]) => [extremumVjp(c as VjpCtx<OpType>, dy!)] }),
  // d min(x) = dy * [x == min] / #ties   NOTE: ties share dy equally
  ReduceMin: reduceOp({ kind: "vjp", vjp: (c, [dy]) => [extremumVjp(c as VjpCtx<OpType>, dy!)] }),
  // d ||x||_2 = dy * x / y   NOTE: 0 where y = 0 (subgradient)
  ReduceL2: reduceOp({
    kind: "vjp",
    vjp: (c, [dy]) => {
      const { g, x } = c;
      const yk = keptDims(c as VjpCtx<OpType>, c.y[0]!);
      const zero = g.scalarLike(0, dy!);
      const safe = g.where(g.equal(yk, zero), g.scalarLike(1, dy!), yk);
      return [g.mul(keptDims(c as VjpCtx<OpType>, dy!), g.where(g.equal(yk, zero), zero, g.div(x[0]!, safe)))];
    },
  }),
  // d sum|x| = expand(dy) * sign(x)   NOTE: 0 at x = 0
  ReduceL1: reduceOp({ kind: "vjp", vjp: (c, [dy]) => [c.g.mul(expandBack(c as VjpCtx<OpType>, dy!), c.g.sign(c.x[0]!))] }),
  // d sum x^2 = 2 x expand(dy)
  ReduceSumSquare: reduceOp({
    kind: "vjp",
    vjp: (c, [dy]) => [c.g.mul(expandBack(c as VjpCtx<OpType>, dy!), c.g.mul(c.x[0]!, c.g.scalarLike(2, dy!)))],
  }),
  // d log sum x = expand(dy / exp(y))
  ReduceLogSum: reduceOp({
    kind: "vjp",
    vjp: (c, [dy]) => [expandBack(c as VjpCtx<OpType>, c.g.div(dy!, c.g.exp(c.y[0]!)))],
  }),
  // d log sum exp x = expand(dy) * exp(x - y)
  ReduceLogSumExp: reduceOp({
    kind: "vjp",
    vjp: (c, [dy]) => {
      const ctx = c as VjpCtx<OpType>;
      return [c.g.mul(expandBack(ctx, dy!), c.g.exp(c.g.sub(c.x[0]!, keptDims(ctx, c.y[0]!))))];
    },
  }),
  ReduceProd: reduceOp({ kind: "error", why: "ReduceProd has no gradient rule (its gradient is undefined at zeros)" }),
  // d softmax: dx = y * (dy - sum(dy*y, axis))
  Softmax: {
    attrs: { axis: "int" },
    arity: [1, 1],
    infer: (c) => [{ dtype: c.inputs[0]!.dtype, shape: c.inputs[0]!.shape }],
    grad: {
      kind: "vjp",
      vjp: (c, [dy]) => {
        const { g, y } = c;
        const s = g.reduceSum(g.mul(dy!, y[0]!), [softmaxAxis(c)], true);
        return [g.mul(y[0]!, g.sub(dy!, s))];
      },
    },
  },
  // d logsoftmax: dx = dy - exp(y) * sum(dy, axis)
  LogSoftmax: {
    attrs: { axis: "int" },
    arity: [1, 1],
    infer: (c) => [{ dtype: c.inputs[0]!.dtype, shape: c.inputs[0]!.shape }],
    grad: {
      kind: "vjp",
      vjp: (c, [dy]) => {
        const { g, y } = c;
        return [g.sub(dy!, g.mul(g.exp(y[0]!), g.reduceSum(dy!, [softmaxAxis(c)], true)))];
      },
    },
  },
  ArgMax: argOp("ArgMax"),
  ArgMin: argOp("ArgMin"),
  TopK: {
    attrs: { axis: "int", largest: "int", sorted: "int" },
    arity: [2, 2],
    infer: ({ node, inputs, consts, freshDim }) => {
      const x = inputs[0]!;
      const where = opLabel("TopK", node.name);
      if (inputs[1]!.dtype !== "int64") throw new Error(`${where}: K must be int64, got ${inputs[1]!.dtype}`);
      if (!x.shape)
        return [
          { dtype: x.dtype, shape: null },
          { dtype: "int64", shape: null },
        ];
      const a = normAxis(node.attrs.axis ?? -1, x.shape.length, where);
      const k = ints(consts[1]);
      if (k && (k.length !== 1 || k[0]! < 0)) throw new Error(`${where}: K must be one non-negative number, got [${k.join(",")}]`);
      const d = x.shape[a]!;
      if (k && typeof d === "number" && k[0]! > d)
        throw new Error(`${where}: K = ${k[0]} exceeds axis ${a} of size ${d} in ${formatShape(x.shape)}`);
      const shape = x.shape.map((s, i) => (i === a ? (k ? k[0]! : freshDim()) : s));
      return [
        { dtype: x.dtype, shape },
        { dtype: "int64", shape },
      ];
    },
    grad: {
      kind: "vjp",
      // dx = ScatterElements(0, Indices, dValues, axis, "add"): each selected input gets its value's gradient; Indices have none
      // NOTE: among tied inputs the one TopK selected gets the gradient
      vjp: ({ g, node, x, y }, [dv]) => {
        if (!dv) return [null, null];
        const idx = y[1] ?? g.add("TopK", [x[0]!, x[1]!], node.attrs, { outputs: 2 })[1]!;
        const xv = x[0]!;
        const axis = normAxis(node.attrs.axis ?? -1, xv.rank!, opLabel("TopK", node.name));
        return [g.one("ScatterElements", [g.zerosLike(xv), idx, dv], { axis, reduction: "add" }), null];
      },
    },
  },
};
