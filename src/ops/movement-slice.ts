// Slice and Pad: shape rules, folding (also of Slice on Shape outputs) and VJPs, static or with run-time offsets.
import type { Builder } from "../builder/builder.js";
import type { Dim, Node, Value } from "../ir/graph.js";
import { type Tensor, formatShape, sizeOf, tensor } from "../ir/tensor.js";
import {
  INT64_MAX,
  INT64_MIN,
  freshShape,
  isStaticDims,
  label,
  remap,
  sliceAxis,
  smallConsts,
  stridesOf,
  symInts,
  vectorLength,
} from "./movement-util.js";
import type { InferCtx, OpTable, ValueType, VjpCtx } from "./types.js";
import { FOLD_LIMIT, ints, normAxis } from "./util.js";

interface SliceSpec {
  axes: number[];
  starts: number[];
  ends: number[];
  steps: number[];
}

/** Constant Slice operands, axes normalized; undefined when an operand is not constant or the rank is unknown. */
function sliceSpec(node: Node<"Slice">, ins: readonly (Value | null)[]): SliceSpec | undefined {
  const r = ins[0]!.rank;
  const [starts, ends] = [ints(ins[1]!.data), ints(ins[2]!.data)];
  const axes = ins[3] ? ints(ins[3].data) : starts?.map((_, i) => i);
  const steps = ins[4] ? ints(ins[4].data) : starts?.map(() => 1);
  if (r === undefined || !starts || !ends || !axes || !steps) return undefined;
  const where = label({ node });
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw new Error(`${where}: starts, ends, axes and steps differ in length`);
  }
  const norm = axes.map((a) => normAxis(a, r, where));
  if (new Set(norm).size !== norm.length) throw new Error(`${where}: repeated axis in ${formatShape(axes)}`);
  if (steps.includes(0)) throw new Error(`${where}: step 0`);
  return { axes: norm, starts, ends, steps };
}

function sliceShape(ctx: InferCtx<"Slice">): Dim[] | null {
  const xs = ctx.inputs[0]!.shape;
  if (!xs) return null;
  const spec = sliceSpec(ctx.node, ctx.inputs);
  if (!spec) {
    // operands known only at run time: the sliced axes (all, when axes is unknown) get fresh sizes
    const k = vectorLength(ctx.inputs[1]!);
    const axes = ctx.inputs[3] ? ints(ctx.inputs[3].data) : k === undefined ? undefined : Array.from({ length: k }, (_, i) => i);
    if (!axes) return freshShape(ctx, xs.length);
    const set = new Set(axes.map((a) => normAxis(a, xs.length, label(ctx))));
    return xs.map((d, i) => (set.has(i) ? ctx.freshDim() : d));
  }
  const out = [...xs];
  spec.axes.forEach((a, i) => {
    const d = xs[a]!,
      s = spec.starts[i]!,
      e = spec.ends[i]!,
      st = spec.steps[i]!;
    if (typeof d === "number") out[a] = sliceAxis(d, s, e, st).count;
    else if (!((st === 1 && s === 0 && e >= 2 ** 62) || (st === -1 && s === -1 && e <= -(2 ** 62)))) out[a] = ctx.freshDim();
  });
  return out;
}

function sliceFold(ctx: InferCtx<"Slice">): Tensor[] | undefined {
  const x = ctx.inputs[0]!;
  const spec = sliceSpec(ctx.node, ctx.inputs);
  if (!spec) return undefined;
  const t = smallConsts(ctx)?.[0];
  if (!t) {
    // a slice of a shape vector folds when the dims it picks are static
    const sym = x.rank === 1 ? symInts(x) : undefined;
    if (!sym) return undefined;
    const { start, count } = sliceAxis(sym.length, spec.starts[0]!, spec.ends[0]!, spec.steps[0]!);
    const vals = Array.from({ length: count }, (_, i) => sym[start + i * spec.steps[0]!]!);
    return isStaticDims(vals) ? [tensor(x.dtype, [vals.length], vals)] : undefined;
  }
  const shape = sliceShape(ctx) as number[];
  const st = stridesOf(t.shape);
  const from = t.shape.map((_, a) => {
    const i = spec.axes.indexOf(a);
    return i < 0
      ? { start: 0, step: 1 }
      : { start: sliceAxis(t.shape[a]!, spec.starts[i]!, spec.ends[i]!, spec.steps[i]!).start, step: spec.steps[i]! };
  });
  return [remap(t, shape, (idx) => idx.reduce((o, v, a) => o + (from[a]!.start + v * from[a]!.step) * st[a]!, 0))];
}

const int64 = (g: Builder, v: Value): Value => (v.dtype === "int64" ? v : g.cast(v, "int64"));

/** dy placed back into zeros shaped like x when the sliced dims and operands are static. */
function unsliceStatic(g: Builder, dy: Value, x: Value, spec: SliceSpec): Value {
  const xs = x.shape!,
    r = xs.length;
  const info = spec.axes.map((a, i) => {
    const D = xs[a] as number,
      step = spec.steps[i]!;
    const { start, count } = sliceAxis(D, spec.starts[i]!, spec.ends[i]!, step);
    const first = step > 0 ? start : start + (count - 1) * step,
      abs = Math.abs(step);
    const len = abs > 1 ? Math.min(count * abs, D - first) : count;
    return { a, D, count, first, abs, rev: step < 0 && count > 1, len };
  });
  if (info.some((i) => i.count === 0)) return g.zerosLike(x);
  let d = dy;
  const rev = info.filter((i) => i.rev).map((i) => i.a);
  if (rev.length)
    d = g.slice(
      d,
      rev.map(() => -1),
      rev.map(() => INT64_MIN),
      rev,
      rev.map(() => -1),
    );
  for (const { a, count, abs, len } of info) {
    if (abs === 1 || count === 1) continue;
    // interleave abs-1 zeros after each element: [.., n, ..] -> [.., n, abs, ..] -> [.., n*abs, ..]
    const target = g.concat([g.one("Shape", [d], { start: 0, end: a }), g.int64s([count * abs]), g.one("Shape", [d], { start: a + 1 })], 0);
    const pads = new Array<number>(2 * (r + 1)).fill(0);
    pads[r + 1 + a + 1] = abs - 1;
    d = g.reshape(g.pad(g.unsqueeze(d, [a + 1]), pads), target);
    if (len < count * abs) d = g.slice(d, [0], [len], [a]);
  }
  const pads = new Array<number>(2 * r).fill(0);
  for (const { a, D, first, len } of info) {
    pads[a] = first;
    pads[r + a] = D - first - len;
  }
  return pads.some((p) => p !== 0) ? g.pad(d, pads) : d;
}

/** dy padded back to x's shape with offsets computed at run time (step 1 only). */
function unsliceDynamic(ctx: VjpCtx<"Slice">, dy: Value): Value {
  const { g, x, node } = ctx;
  const xv = x[0]!,
    r = xv.rank;
  const k = vectorLength(x[1]!);
  const axes = x[3] ? ints(x[3].data) : k === undefined ? undefined : Array.from({ length: k }, (_, i) => i);
  const steps = x[4] ? ints(x[4].data) : [];
  if (r === undefined || !axes || !steps || steps.some((s) => s !== 1)) {
    throw new Error(
      `grad: cannot differentiate Slice "${node.name}": with run-time sizes or offsets only constant axes and step 1 are supported`,
    );
  }
  const ax = axes.map((a) => normAxis(a, r, label({ node })));
  const zero = g.scalar(0, "int64");
  const dim = g.one("Gather", [g.shapeOf(xv), g.int64s(ax)], { axis: 0 });
  const s = int64(g, x[1]!);
  // begin = clamp(start < 0 ? start + dim : start, 0, dim); end pad = dim - begin - len(dy)
  const begin = g.one("Min", [g.one("Max", [g.where(g.less(s, zero), g.addv(s, dim), s), zero], {}), dim], {});
  const end = g.sub(g.sub(dim, begin), g.one("Gather", [g.shapeOf(dy), g.int64s(ax)], { axis: 0 }));
  const pads = g.one(
    "ScatterElements",
    [g.int64s(new Array<number>(2 * r).fill(0)), g.int64s([...ax, ...ax.map((a) => a + r)]), g.concat([begin, end], 0)],
    { axis: 0 },
  );
  return g.pad(dy, pads);
}

const PAD_MODES = ["constant", "reflect", "edge"];

/**
 * d pad (reflect, edge), one axis at a time (the pad is separable): dx = the interior of dy plus its border rows folded
 * back onto the rows they copy — reflect: mirrored onto rows 1..b and n−1−e..n−2; edge: summed onto rows 0 and n−1.
 */
function unpadBorder(g: Builder, dy: Value, dims: readonly number[], pads: readonly number[], mode: string): Value {
  const r = dims.length;
  let d = dy;
  for (let a = 0; a < r; a++) {
    const b = pads[a]!,
      e = pads[a + r]!,
      n = dims[a]!;
    if (b === 0 && e === 0) continue;
    const place = (v: Value, before: number, after: number) => {
      const p = new Array<number>(2 * r).fill(0);
      p[a] = before;
      p[a + r] = after;
      return g.pad(v, p);
    };
    const reversed = (v: Value, len: number) => g.slice(v, [len - 1], [-len - 1], [a], [-1]);
    let acc = g.slice(d, [b], [b + n], [a]);
    if (b > 0) {
      const head = g.slice(d, [0], [b], [a]);
      acc = g.addv(acc, mode === "edge" ? place(g.reduceSum(head, [a], true), 0, n - 1) : place(reversed(head, b), 1, n - 1 - b));
    }
    if (e > 0) {
      const tail = g.slice(d, [b + n], [b + n + e], [a]);
      acc = g.addv(acc, mode === "edge" ? place(g.reduceSum(tail, [a], true), n - 1, 0) : place(reversed(tail, e), n - 1 - e, 1));
    }
    d = acc;
  }
  return d;
}

function padShape(ctx: InferCtx<"Pad">): Dim[] | null {
  const xs = ctx.inputs[0]!.shape;
  const mode = ctx.node.attrs.mode ?? "constant";
  if (!PAD_MODES.includes(mode)) throw new Error(`${label(ctx)}: unsupported mode "${mode}" (supported: ${PAD_MODES.join(", ")})`);
  if (!xs) return null;
  const pads = ints(ctx.consts[1]);
  if (!pads) return freshShape(ctx, xs.length);
  const r = xs.length;
  if (pads.length !== 2 * r) throw new Error(`${label(ctx)}: ${pads.length} pads for rank ${r} input ${ctx.inputs[0]}, expected ${2 * r}`);
  return xs.map((d, i) => {
    const e = pads[i]! + pads[i + r]!;
    if (typeof d !== "number") return e === 0 ? d : ctx.freshDim();
    if (d + e < 0) throw new Error(`${label(ctx)}: pads ${formatShape(pads)} crop axis ${i} of ${ctx.inputs[0]} below zero`);
    return d + e;
  });
}

function padFold(ctx: InferCtx<"Pad">): Tensor[] | undefined {
  const ts = smallConsts(ctx);
  const shape = ts && padShape(ctx);
  if (!ts || !shape || !isStaticDims(shape) || sizeOf(shape) > FOLD_LIMIT) return undefined;
  const t = ts[0]!,
    pads = ints(ts[1])!,
    r = t.shape.length;
  const mode = ctx.node.attrs.mode ?? "constant";
  const st = stridesOf(t.shape);
  return [
    remap(
      t,
      shape,
      (idx) => {
        let o = 0;
        for (let a = 0; a < r; a++) {
          const d = t.shape[a]!;
          let j = idx[a]! - pads[a]!;
          if (j < 0 || j >= d) {
            if (mode === "constant" || d === 0) return -1;
            if (mode === "edge" || d === 1) j = Math.min(Math.max(j, 0), d - 1);
            else {
              const p = 2 * (d - 1);
              j = ((j % p) + p) % p;
              if (j >= d) j = p - j;
            }
          }
          o += j * st[a]!;
        }
        return o;
      },
      ts[2],
    ),
  ];
}

export const sliceOps: OpTable<"Slice" | "Pad"> = {
  // d slice: dx = zeros(x) with dy written back at the sliced positions (a Pad, after undoing reversal and strides)
  Slice: {
    stopGradient: [1, 2, 3, 4],
    attrs: {},
    arity: [3, 5],
    infer: (ctx): ValueType[] => [{ dtype: ctx.inputs[0]!.dtype, shape: sliceShape(ctx) }],
    fold: sliceFold,
    grad: {
      kind: "vjp",
      vjp: (ctx, [dy]) => {
        const x = ctx.x[0]!;
        const spec = sliceSpec(ctx.node, ctx.x);
        const staticDims = spec && spec.axes.every((a) => typeof x.shape![a] === "number");
        return [staticDims ? unsliceStatic(ctx.g, dy!, x, spec) : unsliceDynamic(ctx, dy!)];
      },
    },
  },
  // d pad (constant mode): dx = slice(dy, pads_begin, shape(dy) - pads_end), zero-padded back where pads were negative (crops);
  // reflect and edge: unpadBorder
  Pad: {
    stopGradient: [1, 2, 3],
    attrs: { mode: "string" },
    arity: [2, 3],
    infer: (ctx): ValueType[] => [{ dtype: ctx.inputs[0]!.dtype, shape: padShape(ctx) }],
    fold: padFold,
    grad: {
      kind: "vjp",
      vjp: ({ g, x, node }, [dy]) => {
        const mode = node.attrs.mode ?? "constant";
        const r = x[0]!.rank;
        if (r === undefined) throw new Error(`grad: cannot differentiate Pad "${node.name}": rank of ${x[0]} unknown`);
        const pads = ints(x[1]!.data);
        if (mode !== "constant") {
          const dims = x[0]!.shape!;
          const ok =
            pads?.every((p, i) => p >= 0 && (p === 0 || typeof dims[i % r] === "number")) &&
            (mode === "edge" || pads.every((p, i) => p < (dims[i % r] as number) || p === 0));
          if (!ok)
            throw new Error(
              `grad: cannot differentiate Pad "${node.name}": mode "${mode}" needs constant non-negative pads${mode === "reflect" ? " smaller than the axis" : ""} and static sizes on the padded axes (${x[0]}, pads ${pads ? formatShape(pads) : "at run time"})`,
            );
          return [
            unpadBorder(
              g,
              dy!,
              dims.map((d) => (typeof d === "number" ? d : 0)),
              pads!,
              mode,
            ),
          ];
        }
        if (pads) {
          const axes = pads.slice(0, r).flatMap((p, a) => (p > 0 || pads[a + r]! > 0 ? [a] : []));
          const ends = axes.map((a) => (pads[a + r]! > 0 ? -pads[a + r]! : INT64_MAX));
          let d = axes.length
            ? g.slice(
                dy!,
                axes.map((a) => Math.max(pads[a]!, 0)),
                ends,
                axes,
              )
            : dy!;
          const crop = pads.map((p) => Math.max(-p, 0));
          if (crop.some((p) => p > 0)) d = g.pad(d, crop);
          return [d];
        }
        // pads known at run time: the same slice with offsets computed in the graph
        const P = int64(g, x[1]!);
        const zero = g.scalar(0, "int64");
        const starts = g.one("Max", [g.slice(P, [0], [r], [0]), zero], {});
        const ends = g.sub(g.shapeOf(dy!), g.one("Max", [g.slice(P, [r], [2 * r], [0]), zero], {}));
        const d = g.one("Slice", [dy!, starts, ends, g.int64s(Array.from({ length: r }, (_, i) => i))], {});
        return [g.pad(d, g.one("Max", [g.neg(P), zero], {}))];
      },
    },
  },
};
