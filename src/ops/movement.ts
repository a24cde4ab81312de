// Movement ops that only rearrange or reinterpret data (Reshape family, Transpose, Concat, Expand); the rest are re-exported.
import type { Builder } from "../builder/builder.js";
import type { Dim, Node, Value } from "../ir/graph.js";
import { type Tensor, allocData, formatShape, sizeOf, tensor } from "../ir/tensor.js";
import type { OpType } from "./attrs.js";
import { indexOps } from "./movement-index.js";
import { resizeOps } from "./movement-resize.js";
import { sliceOps } from "./movement-slice.js";
import {
  divideDims,
  freshShape,
  isStaticDims,
  label,
  mergeDim,
  prodDim,
  remap,
  smallConsts,
  stridesOf,
  symInts,
  vectorLength,
} from "./movement-util.js";
import type { InferCtx, OpTable, ValueType } from "./types.js";
import { FOLD_LIMIT, broadcastShapes, ints, normAxis } from "./util.js";

const same = (v: Value, shape: readonly Dim[] | null): ValueType[] => [{ dtype: v.dtype, shape }];

/** Result shape of Reshape for a target whose entries may be symbols (0 copies, -1 infers); throws on a size mismatch. */
function reshapeDims(ctx: InferCtx<"Reshape">, target: readonly Dim[]): Dim[] {
  const x = ctx.inputs[0]!;
  const xs = x.shape;
  const allowzero = ctx.node.attrs.allowzero ?? 0;
  const bad = (why: string) => new Error(`${label(ctx)}: cannot reshape ${x} to ${formatShape(target)}: ${why}`);
  const out: (Dim | undefined)[] = target.map((t, i) => {
    if (t !== 0 || allowzero) return t;
    if (xs && i >= xs.length) throw bad(`0 at position ${i} copies a dimension the input does not have`);
    return xs?.[i];
  });
  const minus = out.flatMap((d, i) => (d === -1 ? [i] : []));
  if (minus.length > 1) throw bad("more than one -1");
  if (out.some((d) => typeof d === "number" && d < -1)) throw bad("negative size");
  if (minus.length === 1) {
    if (allowzero && out.includes(0)) throw bad("-1 together with 0 under allowzero");
    const known = out.filter((d, i) => i !== minus[0]) as Dim[];
    const q = xs && !known.includes(undefined as never) ? divideDims(xs, known) : undefined;
    if (q === null) throw bad(`${prodDim(xs!)} elements do not divide into ${prodDim(known)}`);
    out[minus[0]!] = q ?? ctx.freshDim();
  } else if (xs && isStaticDims(xs) && isStaticDims(out as Dim[]) && sizeOf(xs) !== sizeOf(out as number[])) {
    throw new Error(
      `${label(ctx)}: cannot reshape ${x} (${sizeOf(xs)} elements) to ${formatShape(out as number[])} (${sizeOf(out as number[])} elements)`,
    );
  }
  return out.map((d) => d ?? ctx.freshDim());
}

/** Axes of Squeeze/Unsqueeze from the constant axes input; undefined when it is not constant, null when omitted. */
function axesInput(ctx: InferCtx<"Squeeze" | "Unsqueeze">): number[] | null | undefined {
  if (!ctx.inputs[1]) return null;
  return ints(ctx.consts[1]);
}

function squeezeShape(ctx: InferCtx<"Squeeze">): Dim[] | null {
  const xs = ctx.inputs[0]!.shape;
  const axes = axesInput(ctx);
  if (!xs || axes === undefined) return null;
  // without axes every size-1 dim goes; a symbolic dim might be 1 at run time, so the rank is unknown then
  if (axes === null) return xs.some((d) => typeof d === "string") ? null : xs.filter((d) => d !== 1);
  const drop = new Set(axes.map((a) => normAxis(a, xs.length, label(ctx))));
  for (const a of drop) {
    if (typeof xs[a] === "number" && xs[a] !== 1)
      throw new Error(`${label(ctx)}: cannot squeeze axis ${a} of ${ctx.inputs[0]} (size ${xs[a]})`);
  }
  return xs.filter((_, i) => !drop.has(i));
}

function unsqueezeShape(ctx: InferCtx<"Unsqueeze">): Dim[] | null {
  const xs = ctx.inputs[0]!.shape;
  const axes = axesInput(ctx);
  if (!xs) return null;
  if (!axes) {
    const k = vectorLength(ctx.inputs[1]!);
    return k === undefined ? null : freshShape(ctx, xs.length + k);
  }
  const r = xs.length + axes.length;
  const ins = new Set(axes.map((a) => normAxis(a, r, label(ctx))));
  if (ins.size !== axes.length) throw new Error(`${label(ctx)}: repeated axis in ${formatShape(axes)}`);
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(ins.has(i) ? 1 : xs[j++]!);
  return out;
}

/** Folds a data-preserving op on a small constant into the same data under a new shape. */
function refold<K extends OpType>(shapeOf: (ctx: InferCtx<K>) => readonly Dim[] | null) {
  return (ctx: InferCtx<K>): Tensor[] | undefined => {
    const t = smallConsts(ctx)?.[0];
    if (!t) return undefined;
    const s = shapeOf(ctx);
    return s && isStaticDims(s) ? [tensor(t.dtype, s, t.data)] : undefined;
  };
}

function concatShape(ctx: InferCtx<"Concat">): { axis: number; shape: Dim[] } | null {
  const ins = ctx.inputs as Value[];
  for (const v of ins) if (v.dtype !== ins[0]!.dtype) throw new Error(`${label(ctx)}: input ${v} is ${v.dtype}, expected ${ins[0]!.dtype}`);
  if (ins.some((v) => !v.shape)) return null;
  const r = ins[0]!.rank!;
  const axis = normAxis(ctx.node.attrs.axis, r, label(ctx));
  const shape = [...ins[0]!.shape!];
  const sizes: Dim[] = [];
  for (const v of ins) {
    if (v.rank !== r) throw new Error(`${label(ctx)}: inputs ${ins[0]} and ${v} differ in rank`);
    v.shape!.forEach((d, i) => {
      if (i === axis) sizes.push(d);
      else shape[i] = mergeDim(shape[i]!, d, label(ctx), () => `inputs ${ins[0]} and ${v} differ in dimension ${i}`);
    });
  }
  shape[axis] = sizes.every((d) => typeof d === "number") ? (sizes as number[]).reduce((a, b) => a + b, 0) : ctx.freshDim();
  return { axis, shape };
}

function concatFold(ctx: InferCtx<"Concat">): Tensor[] | undefined {
  const ts = smallConsts(ctx);
  if (!ts) return undefined;
  const c = concatShape(ctx);
  if (!c || !isStaticDims(c.shape)) return undefined;
  const shape = c.shape;
  const out = allocData(ts[0]!.dtype, sizeOf(shape)) as unknown as { [i: number]: unknown };
  const outer = sizeOf(shape.slice(0, c.axis));
  let k = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      const chunk = t.data.length / Math.max(outer, 1);
      const src = t.data as unknown as { [i: number]: unknown };
      for (let i = 0; i < chunk; i++) out[k++] = src[o * chunk + i];
    }
  }
  return [tensor(ts[0]!.dtype, shape, out as unknown as Tensor["data"])];
}

function expandShape(ctx: InferCtx<"Expand">): Dim[] | null {
  const x = ctx.inputs[0]!;
  const target = symInts(ctx.inputs[1]);
  if (target && x.shape) return [...broadcastShapes([x.shape, target], label(ctx))!];
  const k = vectorLength(ctx.inputs[1]!);
  if (k === undefined || !x.shape) return null;
  const r = Math.max(k, x.shape.length);
  // a target entry can only change a size-1 dim of x
  return Array.from({ length: r }, (_, i) => {
    const d = x.shape![x.shape!.length - r + i];
    return typeof d === "number" && d !== 1 ? d : ctx.freshDim();
  });
}

const permOf = (node: Node<"Transpose">, x: Value): number[] | null => {
  const r = x.rank;
  if (r === undefined) return null;
  const p = node.attrs.perm ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  if (p.length !== r || [...p].sort((a, b) => a - b).some((a, i) => a !== i)) {
    throw new Error(`${label({ node })}: perm ${formatShape(p)} is not a permutation of the ${r} axes of ${x}`);
  }
  return p;
};

type Ks =
  | "Flatten"
  | "Reshape"
  | "Transpose"
  | "Squeeze"
  | "Unsqueeze"
  | "Concat"
  | "Slice"
  | "Pad"
  | "Resize"
  | "Expand"
  | "Gather"
  | "GatherElements"
  | "ScatterElements"
  | "Split"
  | "Tile";

const flattenShape = (ctx: InferCtx<"Flatten">): Dim[] | null => {
  const xs = ctx.inputs[0]!.shape;
  if (!xs) return null;
  const a = ctx.node.attrs.axis ?? 1;
  const axis = a < 0 ? a + xs.length : a;
  if (axis < 0 || axis > xs.length) throw new Error(`${label(ctx)}: axis ${a} out of range for rank ${xs.length}`);
  return [prodDim(xs.slice(0, axis)), prodDim(xs.slice(axis))];
};

const reshapeShape = (ctx: InferCtx<"Reshape">): Dim[] | null => {
  const target = symInts(ctx.inputs[1]);
  return target ? reshapeDims(ctx, target) : freshShape(ctx, vectorLength(ctx.inputs[1]!));
};

/** dy reshaped to x's shape; allowzero where x may hold a 0 dim (Shape(x) has no -1, so 0 must mean 0, not "copy"). */
function reshapeBack(g: Builder, dy: Value, x: Value): Value {
  const maybeZero = !x.shape || x.shape.some((d) => d === 0 || typeof d === "string");
  return maybeZero ? g.one("Reshape", [dy, g.shapeOf(x)], { allowzero: 1 }) : g.reshape(dy, g.shapeOf(x));
}

export const movementOps: OpTable<Ks> = {
  // d flatten: dx = reshape(dy, shape(x))
  Flatten: {
    attrs: { axis: "int" },
    arity: [1, 1],
    infer: (ctx) => same(ctx.inputs[0]!, flattenShape(ctx)),
    fold: refold(flattenShape),
    grad: { kind: "vjp", vjp: ({ g, x }, [dy]) => [reshapeBack(g, dy!, x[0]!)] },
  },
  // d reshape: dx = reshape(dy, shape(x))
  Reshape: {
    stopGradient: [1],
    attrs: { allowzero: "int" },
    arity: [2, 2],
    infer: (ctx) => same(ctx.inputs[0]!, reshapeShape(ctx)),
    fold: refold(reshapeShape),
    grad: { kind: "vjp", vjp: ({ g, x }, [dy]) => [reshapeBack(g, dy!, x[0]!), null] },
  },
  // d transpose: dx = transpose(dy, inverse(perm))
  Transpose: {
    attrs: { perm: "ints" },
    arity: [1, 1],
    infer: (ctx) => {
      const p = permOf(ctx.node, ctx.inputs[0]!),
        xs = ctx.inputs[0]!.shape;
      return same(ctx.inputs[0]!, p && xs ? p.map((a) => xs[a]!) : null);
    },
    fold: (ctx) => {
      const t = smallConsts(ctx)?.[0];
      const p = permOf(ctx.node, ctx.inputs[0]!);
      if (!t || !p) return undefined;
      const st = stridesOf(t.shape);
      return [
        remap(
          t,
          p.map((a) => t.shape[a]!),
          (idx) => idx.reduce((s, v, i) => s + v * st[p[i]!]!, 0),
        ),
      ];
    },
    grad: {
      kind: "vjp",
      vjp: (ctx, [dy]) => {
        const p = permOf(ctx.node, ctx.x[0]!)!;
        const inv = new Array<number>(p.length);
        p.forEach((a, i) => {
          inv[a] = i;
        });
        return [ctx.g.transpose(dy!, inv)];
      },
    },
  },
  // d squeeze: dx = reshape(dy, shape(x))
  Squeeze: {
    stopGradient: [1],
    attrs: {},
    arity: [1, 2],
    infer: (ctx) => same(ctx.inputs[0]!, squeezeShape(ctx)),
    fold: refold(squeezeShape),
    grad: { kind: "vjp", vjp: ({ g, x }, [dy]) => [reshapeBack(g, dy!, x[0]!), null] },
  },
  // d unsqueeze: dx = reshape(dy, shape(x))
  Unsqueeze: {
    stopGradient: [1],
    attrs: {},
    arity: [2, 2],
    infer: (ctx) => same(ctx.inputs[0]!, unsqueezeShape(ctx)),
    fold: refold(unsqueezeShape),
    grad: { kind: "vjp", vjp: ({ g, x }, [dy]) => [reshapeBack(g, dy!, x[0]!), null] },
  },
  // d concat: dx_i = split(dy, sizes along axis)_i
  Concat: {
    attrs: { axis: "int" },
    arity: [1, 1024],
    infer: (ctx) => same(ctx.inputs[0]!, concatShape(ctx)?.shape ?? null),
    fold: concatFold,
    grad: {
      kind: "vjp",
      vjp: ({ g, x, node, needs }, [dy]) => {
        if (x.length === 1) return [dy!];
        const axis = normAxis(node.attrs.axis, dy!.rank!, label({ node }));
        const sizes = g.concat(
          x.map((v) => g.one("Shape", [v], { start: axis, end: axis + 1 })),
          0,
        );
        const parts = g.add("Split", [dy!, sizes], { axis }, { outputs: x.length });
        return parts.map((p, i) => (needs[i] ? p : null));
      },
    },
  },
  // d expand: dx = dy (the driver sums over the broadcast axes)
  Expand: {
    stopGradient: [1],
    attrs: {},
    arity: [2, 2],
    infer: (ctx) => same(ctx.inputs[0]!, expandShape(ctx)),
    fold: (ctx) => {
      const t = smallConsts(ctx)?.[0];
      const s = t && expandShape(ctx);
      if (!t || !s || !isStaticDims(s) || sizeOf(s) > FOLD_LIMIT) return undefined;
      const lead = s.length - t.shape.length;
      const st = stridesOf(t.shape);
      return [remap(t, s, (idx) => t.shape.reduce((o, d, i) => o + (d === 1 ? 0 : idx[i + lead]! * st[i]!), 0))];
    },
    grad: { kind: "vjp", vjp: (_c, [dy]) => [dy!, null] },
  },
  ...sliceOps,
  ...resizeOps,
  ...indexOps,
};
