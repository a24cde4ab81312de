// Indexing movement ops: Gather, GatherElements, ScatterElements, Split and Tile.
import type { Dim, Node, Value } from "../ir/graph.js";
import { type Tensor, formatShape, numberAt, sizeOf, tensor } from "../ir/tensor.js";
import { freshShape, isStaticDims, label, prodDim, remap, smallConsts, stridesOf, symInts } from "./movement-util.js";
import type { InferCtx, OpTable } from "./types.js";
import { FOLD_LIMIT, ints, normAxis } from "./util.js";

/** Index i along an axis of size d, wrapped when negative; throws when out of range. */
function wrap(i: number, d: number, where: string): number {
  const j = i < 0 ? i + d : i;
  if (j < 0 || j >= d) throw new Error(`${where}: index ${i} out of range for an axis of size ${d}`);
  return j;
}

function gatherShape(ctx: InferCtx<"Gather">): Dim[] | null {
  const [ds, is] = [ctx.inputs[0]!.shape, ctx.inputs[1]!.shape];
  if (!ds || !is) return null;
  const a = normAxis(ctx.node.attrs.axis ?? 0, ds.length, label(ctx));
  return [...ds.slice(0, a), ...is, ...ds.slice(a + 1)];
}

function gatherFold(ctx: InferCtx<"Gather">): Tensor[] | undefined {
  const data = ctx.inputs[0]!,
    it = ctx.consts[1];
  if (!it || it.data.length > FOLD_LIMIT) return undefined;
  const idx = ints(it)!;
  const t = smallConsts(ctx)?.[0];
  if (!t) {
    // picking entries of a shape vector folds when the picked dims are static
    const sym = data.rank === 1 ? symInts(data) : undefined;
    if (!sym) return undefined;
    const vals = idx.map((i) => sym[wrap(i, sym.length, label(ctx))]!);
    return isStaticDims(vals) ? [tensor(data.dtype, it.shape, vals)] : undefined;
  }
  const shape = gatherShape(ctx) as number[];
  if (sizeOf(shape) > FOLD_LIMIT) return undefined;
  const a = normAxis(ctx.node.attrs.axis ?? 0, t.shape.length, label(ctx));
  const st = stridesOf(t.shape),
    k = it.shape.length;
  const flat = stridesOf(it.shape);
  return [
    remap(t, shape, (o) => {
      let s = 0;
      for (let i = 0; i < a; i++) s += o[i]! * st[i]!;
      let j = 0;
      for (let i = 0; i < k; i++) j += o[a + i]! * flat[i]!;
      s += wrap(idx[j]!, t.shape[a]!, label(ctx)) * st[a]!;
      for (let i = a + 1; i < t.shape.length; i++) s += o[i + k - 1]! * st[i]!;
      return s;
    }),
  ];
}

function elementsAxis(ctx: { node: Node<"GatherElements" | "ScatterElements"> }, data: Value, idx: Value): number | undefined {
  if (data.rank === undefined) return undefined;
  if (idx.rank !== undefined && idx.rank !== data.rank) throw new Error(`${label(ctx)}: indices ${idx} and data ${data} differ in rank`);
  return normAxis(ctx.node.attrs.axis ?? 0, data.rank, label(ctx));
}

function scatterFold(ctx: InferCtx<"ScatterElements">): Tensor[] | undefined {
  const ts = smallConsts(ctx);
  if (!ts) return undefined;
  const [t, it, u] = ts as [Tensor, Tensor, Tensor];
  const a = elementsAxis(ctx, ctx.inputs[0]!, ctx.inputs[1]!)!;
  const red = ctx.node.attrs.reduction ?? "none";
  const out = t.data.slice() as unknown as { [i: number]: number | bigint };
  const upd = u.data as unknown as { [i: number]: number | bigint };
  const st = stridesOf(t.shape),
    ist = stridesOf(it.shape);
  for (let k = 0; k < it.data.length; k++) {
    let s = 0,
      rem = k;
    for (let i = 0; i < ist.length; i++) {
      const c = Math.floor(rem / ist[i]!);
      rem -= c * ist[i]!;
      s += (i === a ? wrap(numberAt(it, k), t.shape[a]!, label(ctx)) : c) * st[i]!;
    }
    const [o, v] = [out[s]!, upd[k]!] as [number, number];
    out[s] = red === "add" ? o + v : red === "mul" ? o * v : red === "max" ? (v > o ? v : o) : red === "min" ? (v < o ? v : o) : v;
  }
  return [tensor(t.dtype, t.shape, out as unknown as Tensor["data"])];
}

/** Sizes of each Split output along the axis; undefined entries where the count or the split is not known. */
function splitSizes(ctx: InferCtx<"Split">): { axis: number; sizes: Dim[] } | null {
  const xs = ctx.inputs[0]!.shape;
  if (!xs) return null;
  const axis = normAxis(ctx.node.attrs.axis ?? 0, xs.length, label(ctx));
  const d = xs[axis]!;
  const sp = ctx.inputs[1] ? ints(ctx.consts[1]) : undefined;
  if (sp) {
    if (typeof d === "number" && sp.reduce((p, q) => p + q, 0) !== d) {
      throw new Error(`${label(ctx)}: split ${formatShape(sp)} does not add up to dimension ${axis} of ${ctx.inputs[0]}`);
    }
    return { axis, sizes: sp };
  }
  const splitLen = ctx.inputs[1]?.shape?.[0];
  const n = ctx.node.attrs.num_outputs ?? (typeof splitLen === "number" ? splitLen : undefined);
  // without a count the rule cannot know the sizes: offer enough outputs for any request, sizes fresh
  if (n === undefined || ctx.inputs[1] || typeof d !== "number")
    return { axis, sizes: Array.from({ length: n ?? 64 }, () => ctx.freshDim()) };
  const each = Math.ceil(d / n);
  return { axis, sizes: Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, d - i * each))) };
}

function tileRepeats(ctx: { node: Node<"Tile"> }, x: Value, reps: Value): number[] | undefined {
  const r = ints(reps.data);
  if (r && x.rank !== undefined && r.length !== x.rank) throw new Error(`${label(ctx)}: ${r.length} repeats for rank ${x.rank} input ${x}`);
  return r;
}

export const indexOps: OpTable<"Gather" | "GatherElements" | "ScatterElements" | "Split" | "Tile"> = {
  // d gather: dx = scatter_add(zeros(x), indices broadcast over dy, dy) along axis
  Gather: {
    stopGradient: [1],
    attrs: { axis: "int" },
    arity: [2, 2],
    infer: (ctx) => [{ dtype: ctx.inputs[0]!.dtype, shape: gatherShape(ctx) }],
    fold: gatherFold,
    grad: {
      kind: "vjp",
      vjp: ({ g, x, node }, [dy]) => {
        const [data, idx] = [x[0]!, x[1]!];
        const r = data.rank;
        if (r === undefined) throw new Error(`grad: cannot differentiate Gather "${node.name}": rank of ${data} unknown`);
        const a = normAxis(node.attrs.axis ?? 0, r, label({ node }));
        // one index axis: dy -> D[:a] + [-1] + D[a+1:], indices -> [1..1, -1, 1..1] broadcast to it
        const target = g.concat(
          [g.one("Shape", [data], { start: 0, end: a }), g.int64s([-1]), g.one("Shape", [data], { start: a + 1 })],
          0,
        );
        const d = idx.rank === 1 ? dy! : g.reshape(dy!, target);
        const shapeIdx = Array.from({ length: r }, (_, i) => (i === a ? -1 : 1));
        const ind = g.expand(g.reshape(idx, shapeIdx), g.shapeOf(d));
        return [g.one("ScatterElements", [g.zerosLike(data), ind, d], { axis: a, reduction: "add" }), null];
      },
    },
  },
  // d gather_elements: dx = scatter_add(zeros(x), indices, dy) along axis
  GatherElements: {
    stopGradient: [1],
    attrs: { axis: "int" },
    arity: [2, 2],
    infer: (ctx) => {
      elementsAxis(ctx, ctx.inputs[0]!, ctx.inputs[1]!);
      return [{ dtype: ctx.inputs[0]!.dtype, shape: ctx.inputs[1]!.shape }];
    },
    fold: (ctx) => {
      const ts = smallConsts(ctx);
      if (!ts) return undefined;
      const [t, it] = ts as [Tensor, Tensor];
      const a = elementsAxis(ctx, ctx.inputs[0]!, ctx.inputs[1]!)!;
      const st = stridesOf(t.shape),
        ist = stridesOf(it.shape);
      return [
        remap(t, it.shape, (o) =>
          o.reduce(
            (s, v, i) =>
              s +
              (i === a
                ? wrap(
                    numberAt(
                      it,
                      o.reduce((p, w, j) => p + w * ist[j]!, 0),
                    ),
                    t.shape[a]!,
                    label(ctx),
                  )
                : v) *
                st[i]!,
            0,
          ),
        ),
      ];
    },
    grad: {
      kind: "vjp",
      vjp: ({ g, x, node }, [dy]) => {
        const a = elementsAxis({ node: node as Node<"GatherElements"> }, x[0]!, x[1]!)!;
        return [g.one("ScatterElements", [g.zerosLike(x[0]!), x[1]!, dy!], { axis: a, reduction: "add" }), null];
      },
    },
  },
  ScatterElements: {
    stopGradient: [1],
    attrs: { axis: "int", reduction: "string" },
    arity: [3, 3],
    infer: (ctx) => {
      elementsAxis(ctx, ctx.inputs[0]!, ctx.inputs[1]!);
      return [{ dtype: ctx.inputs[0]!.dtype, shape: ctx.inputs[0]!.shape }];
    },
    fold: scatterFold,
    grad: { kind: "error", why: "ScatterElements is only emitted by gradient graphs and has no gradient rule" },
  },
  // d split: dx = concat(dy_i) along axis, zeros for outputs that do not reach the loss
  Split: {
    stopGradient: [1],
    attrs: { axis: "int", num_outputs: "int" },
    arity: [1, 2],
    outputs: (node) => {
      const len = node.inputs[1]?.shape?.[0];
      const n = node.attrs.num_outputs ?? (typeof len === "number" ? len : undefined);
      if (n === undefined)
        throw new Error(`${label({ node })}: number of outputs unknown: give a constant split, num_outputs, or the output count`);
      return n;
    },
    infer: (ctx) => {
      const s = splitSizes(ctx);
      const xs = ctx.inputs[0]!.shape,
        dtype = ctx.inputs[0]!.dtype;
      if (!s || !xs) return Array.from({ length: 64 }, () => ({ dtype, shape: null }));
      return s.sizes.map((d) => ({ dtype, shape: xs.map((e, i) => (i === s.axis ? d : e)) }));
    },
    fold: (ctx) => {
      const t = smallConsts(ctx)?.[0];
      const s = t && splitSizes(ctx);
      if (!t || !s || !isStaticDims(s.sizes)) return undefined;
      const st = stridesOf(t.shape);
      let off = 0;
      return s.sizes.map((n) => {
        const o = off;
        off += n;
        return remap(
          t,
          t.shape.map((d, i) => (i === s.axis ? n : d)),
          (idx) => idx.reduce((p, v, i) => p + (i === s.axis ? v + o : v) * st[i]!, 0),
        );
      });
    },
    grad: {
      kind: "vjp",
      vjp: ({ g, y, node }, dys) => {
        const axis = normAxis(node.attrs.axis ?? 0, y[0]!.rank!, label({ node }));
        return [
          g.concat(
            dys.map((d, i) => d ?? g.zerosLike(y[i]!)),
            axis,
          ),
          null,
        ];
      },
    },
  },
  // d tile: dx = sum over the copies (reshape dy to [r0, d0, r1, d1, ...] and reduce the repeat axes)
  Tile: {
    stopGradient: [1],
    attrs: {},
    arity: [2, 2],
    infer: (ctx) => {
      const xs = ctx.inputs[0]!.shape;
      const reps = tileRepeats(ctx, ctx.inputs[0]!, ctx.inputs[1]!);
      if (!xs) return [{ dtype: ctx.inputs[0]!.dtype, shape: null }];
      return [{ dtype: ctx.inputs[0]!.dtype, shape: reps ? xs.map((d, i) => prodDim([d, reps[i]!])) : freshShape(ctx, xs.length) }];
    },
    fold: (ctx) => {
      const ts = smallConsts(ctx);
      if (!ts) return undefined;
      const [t, reps] = [ts[0]!, ints(ts[1])!];
      tileRepeats(ctx, ctx.inputs[0]!, ctx.inputs[1]!);
      const shape = t.shape.map((d, i) => d * reps[i]!);
      if (sizeOf(shape) > FOLD_LIMIT) return undefined;
      const st = stridesOf(t.shape);
      return [remap(t, shape, (idx) => idx.reduce((p, v, i) => p + (v % t.shape[i]!) * st[i]!, 0))];
    },
    grad: {
      kind: "vjp",
      vjp: ({ g, x, node }, [dy]) => {
        const reps = tileRepeats({ node }, x[0]!, x[1]!);
        if (!reps) throw new Error(`grad: cannot differentiate Tile "${node.name}": repeats must be constant`);
        if (reps.every((r) => r === 1)) return [dy!, null];
        const parts: Value[] = [],
          axes: number[] = [];
        reps.forEach((r, a) => {
          if (r !== 1) {
            axes.push(parts.length);
            parts.push(g.int64s([r]));
          }
          parts.push(g.one("Shape", [x[0]!], { start: a, end: a + 1 }));
        });
        return [g.reduceSum(g.reshape(dy!, g.concat(parts, 0)), axes, false), null];
      },
    },
  },
};
