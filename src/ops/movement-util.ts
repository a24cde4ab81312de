// Helpers shared by the movement and shape ops: symbolic dim arithmetic, symbolic shape vectors, JS index remapping.
import type { Dim, Shape, Value } from "../ir/graph.js";
import { type Tensor, allocData, numberAt, sizeOf, tensor } from "../ir/tensor.js";
import type { OpType } from "./attrs.js";
import type { InferCtx } from "./types.js";
import { FOLD_LIMIT, ints, opLabel } from "./util.js";

export const INT64_MAX = 9223372036854775807;
export const INT64_MIN = -9223372036854775808;

/** `Op "name"` of an infer/VJP context's node (the one label format is opLabel). */
export const label = (ctx: { node: { op: string; name: string } }): string => opLabel(ctx.node.op, ctx.node.name);

/** Product of dims: a number when static, else the symbols then the numeric factor joined by "*" (e.g. "N*48"). */
export function prodDim(dims: readonly Dim[]): Dim {
  let p = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === "number") p *= d;
    else syms.push(d);
  }
  if (p === 0 || syms.length === 0) return p;
  return [...syms, ...(p === 1 ? [] : [String(p)])].join("*");
}

/** num / den with symbols cancelled; undefined when the quotient cannot be written, null when statically not divisible. */
export function divideDims(num: readonly Dim[], den: readonly Dim[]): Dim | undefined | null {
  const syms = num.filter((d): d is string => typeof d === "string");
  let n = 1,
    m = 1;
  for (const d of num) if (typeof d === "number") n *= d;
  for (const d of den) {
    if (typeof d === "number") {
      m *= d;
      continue;
    }
    const i = syms.indexOf(d);
    if (i < 0) return undefined;
    syms.splice(i, 1);
  }
  if (m === 0) return undefined;
  if (n % m !== 0) return syms.length === 0 && num.every((d) => typeof d === "number") ? null : undefined;
  return prodDim([...syms, n / m]);
}

/** Element values of a small 1-D (or scalar) integer value where known: numbers, or symbols read off a Shape's input. */
export function symInts(v: Value | null | undefined, depth = 0): Dim[] | undefined {
  if (!v || depth > 24) return undefined;
  if (v.data) return v.data.data.length <= FOLD_LIMIT ? ints(v.data) : undefined;
  const n = v.producer;
  if (!n || v.dtype === "float32" || v.dtype === "float64") return undefined;
  const inp = n.inputs;
  switch (n.op) {
    case "Shape": {
      const s = inp[0]!.shape;
      if (!s) return undefined;
      const a = n.attrs as { start?: number; end?: number };
      const [lo, hi] = shapeRange(s.length, a.start, a.end);
      return s.slice(lo, Math.max(lo, hi));
    }
    case "Unsqueeze":
    case "Squeeze":
    case "Reshape":
    case "Identity":
    case "Cast":
    case "Flatten":
      return symInts(inp[0], depth + 1);
    case "Concat": {
      const parts = inp.map((x) => symInts(x, depth + 1));
      return parts.every((p) => p !== undefined) ? (parts as Dim[][]).flat() : undefined;
    }
    case "Gather": {
      const src = symInts(inp[0], depth + 1);
      const idx = ints(inp[1]?.data);
      if (!src || !idx || (inp[0]!.rank ?? 1) > 1) return undefined;
      const out = idx.map((i) => src[i < 0 ? i + src.length : i]);
      return out.every((d) => d !== undefined) ? (out as Dim[]) : undefined;
    }
    case "Slice": {
      const src = symInts(inp[0], depth + 1);
      const p = inp.slice(1).map((x) => (x ? ints(x.data) : []));
      if (!src || p.some((x) => x === undefined) || (inp[0]!.rank ?? 1) > 1) return undefined;
      const [st, en, , sp] = p as number[][];
      return sliceRange(src.length, st![0] ?? 0, en![0] ?? INT64_MAX, sp?.[0] ?? 1).map((i) => src[i]!);
    }
    default:
      return undefined;
  }
}

/** Shape's [start, end) over a rank, normalized and clamped as ONNX does. */
export function shapeRange(rank: number, start = 0, end?: number): [number, number] {
  const norm = (x: number) => Math.min(Math.max(x < 0 ? x + rank : x, 0), rank);
  return [norm(start), end === undefined ? rank : norm(end)];
}

/** Clamped start and element count of one Slice axis (ONNX semantics, incl. negative steps and INT64 extremes). */
export function sliceAxis(dim: number, start: number, end: number, step: number): { start: number; count: number } {
  if (step === 0) throw new Error("slice step 0");
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, 0), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  const count = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return { start: s, count };
}

export function sliceRange(dim: number, start: number, end: number, step: number): number[] {
  const r = sliceAxis(dim, start, end, step);
  return Array.from({ length: r.count }, (_, i) => r.start + i * step);
}

/** Fresh symbols for every dim of a rank-r result whose dims cannot be known before run time. */
export function freshShape<K extends OpType>(ctx: InferCtx<K>, rank: number | undefined): Dim[] | null {
  return rank === undefined ? null : Array.from({ length: rank }, () => ctx.freshDim());
}

/** Length of a 1-D operand (the output rank of Reshape/Expand/ConstantOfShape) when static. */
export const vectorLength = (v: Value | null): number | undefined => {
  const s = v?.shape;
  return s && s.length === 1 && typeof s[0] === "number" ? s[0] : undefined;
};

export const stridesOf = (shape: readonly number[]): number[] => {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return st;
};

/** A new tensor of t's dtype and the given shape whose element at each index is t[src(index)] (fill where src < 0). */
export function remap(t: Tensor, shape: readonly number[], src: (idx: readonly number[]) => number, fill?: Tensor): Tensor {
  const n = sizeOf(shape);
  const out = allocData(t.dtype, n) as unknown as { [i: number]: number | bigint };
  const from = t.data as unknown as { [i: number]: number | bigint };
  const fv = fill && fill.data.length > 0 ? (fill.data as unknown as { [i: number]: number | bigint })[0]! : undefined;
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    const s = src(idx);
    if (s >= 0) out[k] = from[s]!;
    else if (fv !== undefined) out[k] = fv;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return tensor(t.dtype, shape, out as unknown as Tensor["data"]);
}

/** Every given input constant and no larger than FOLD_LIMIT: their tensors (by input position), else undefined. */
export function smallConsts<K extends OpType>(ctx: InferCtx<K>): Tensor[] | undefined {
  const ts: Tensor[] = [];
  for (let i = 0; i < ctx.inputs.length; i++) {
    if (!ctx.inputs[i]) continue;
    const t = ctx.consts[i];
    if (!t || t.data.length > FOLD_LIMIT) return undefined;
    ts[i] = t;
  }
  return ts;
}

/** Merges two dims that must agree; throws when two sizes differ. */
export function mergeDim(a: Dim, b: Dim, where: string, what: () => string): Dim {
  if (a === b) return a;
  if (typeof a === "number" && typeof b === "number") throw new Error(`${where}: ${what()}`);
  return typeof a === "number" ? a : b;
}

export const isStaticDims = (s: Shape | null | undefined): s is number[] => !!s && s.every((d) => typeof d === "number");
export const scalarOf = (t: Tensor): number => numberAt(t, 0);
