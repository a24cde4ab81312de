// Shared shape arithmetic and small JS evaluators used by shape rules and constant folding.
import type { Dim, Shape, Value } from "../ir/graph.js";
import type { OpType } from "./attrs.js";
import type { GradRule, InferCtx, OpDef, ValueType } from "./types.js";
import { type DType, type Tensor, allocData, formatShape, numberAt, sizeOf, tensor, toInt64 } from "../ir/tensor.js";

export function opLabel(op: string, name: string): string {
  return `${op} "${name}"`;
}

/** Numpy-style broadcast of several shapes; symbolic dims match equal symbols or 1. */
export function broadcastShapes(shapes: readonly (Shape | null)[], where: string): Shape | null {
  if (shapes.some((s) => s === null)) return null;
  const ss = shapes as Shape[];
  const rank = Math.max(...ss.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of ss) {
      const e = s[s.length - rank + i];
      if (e === undefined || e === 1) continue;
      if (d === 1) d = e;
      else if (d !== e) {
        if (typeof d === "number" && typeof e === "number") {
          throw new Error(`${where}: shapes ${ss.map((x) => formatShape(x)).join(" and ")} do not broadcast`);
        }
        if (typeof d === "string" && typeof e === "number") d = e; // a symbol meeting a size must be that size
      }
    }
    out.push(d);
  }
  return out;
}

export function normAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${where}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function ints(t: Tensor | undefined): number[] | undefined {
  if (!t) return undefined;
  const out: number[] = [];
  for (let i = 0; i < t.data.length; i++) out.push(numberAt(t, i));
  return out;
}

/** Writes numbers into a tensor of the given dtype (int64 saturating, bool as 0/1). */
export function fromNumbers(dtype: DType, shape: readonly number[], vals: readonly number[]): Tensor {
  const data = allocData(dtype, vals.length);
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i]!;
    if (dtype === "int64") (data as BigInt64Array)[i] = toInt64(v);
    else if (dtype === "bool") (data as Uint8Array)[i] = v ? 1 : 0;
    else (data as { [i: number]: number })[i] = v;
  }
  return tensor(dtype, shape, data);
}

/** Broadcasting n-ary map over constant tensors, for folding small shape arithmetic. */
export function mapBroadcast(ts: readonly Tensor[], dtype: DType, f: (v: number[]) => number, where: string): Tensor {
  const shape = broadcastShapes(
    ts.map((t) => t.shape),
    where,
  ) as number[];
  const n = sizeOf(shape);
  const strides = ts.map((t) => {
    const st: number[] = new Array(shape.length).fill(0);
    let acc = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) {
      const ax = shape.length - t.shape.length + i;
      st[ax] = t.shape[i] === 1 ? 0 : acc;
      acc *= t.shape[i]!;
    }
    return st;
  });
  const out: number[] = new Array(n);
  const idx: number[] = new Array(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let rem = k;
    for (let a = shape.length - 1; a >= 0; a--) {
      idx[a] = rem % shape[a]!;
      rem = Math.floor(rem / shape[a]!);
    }
    const args = ts.map((t, j) => {
      let o = 0;
      for (let a = 0; a < shape.length; a++) o += idx[a]! * strides[j]![a]!;
      return numberAt(t, o);
    });
    out[k] = f(args);
  }
  return fromNumbers(dtype, shape, out);
}

/** Largest constant folded in JS; bigger constant subgraphs are left to the runtime. */
export const FOLD_LIMIT = 1 << 16;

export function allConst(consts: readonly (Tensor | undefined)[], inputs: readonly (Value | null)[]): consts is Tensor[] {
  return inputs.every((v, i) => v === null || consts[i] !== undefined);
}

/** Output type of a broadcasting op whose inputs share one dtype. */
export function broadcastInfer<K extends OpType>(ctx: InferCtx<K>, from = 0): ValueType[] {
  const ins = ctx.inputs.slice(from).filter((v): v is Value => v !== null);
  const label = opLabel(ctx.node.op, ctx.node.name);
  const d = ins[0]!.dtype;
  for (const v of ins) if (v.dtype !== d) throw new Error(`${label}: input "${v.name}" is ${v.dtype}, expected ${d}`);
  return [
    {
      dtype: d,
      shape: broadcastShapes(
        ins.map((v) => v.shape),
        label,
      ),
    },
  ];
}

/** Folds a small all-constant elementwise node in JS (shape arithmetic in exported graphs). */
export function foldMap<K extends OpType>(f: (v: number[]) => number, dtype?: (ctx: InferCtx<K>) => Tensor["dtype"]) {
  return (ctx: InferCtx<K>): Tensor[] | undefined => {
    if (!allConst(ctx.consts, ctx.inputs)) return undefined;
    const ts = ctx.consts.filter((t): t is Tensor => t !== undefined);
    if (ts.some((t) => sizeOf(t.shape) > FOLD_LIMIT)) return undefined;
    return [mapBroadcast(ts, dtype ? dtype(ctx) : ts[0]!.dtype, f, opLabel(ctx.node.op, ctx.node.name))];
  };
}

/** A one-input op of the input's type and shape, folded elementwise by f (which may read the node's attributes). */
export function unaryOp<K extends OpType>(
  f: (x: number, a: Readonly<Record<string, number | undefined>>) => number,
  grad: GradRule<K>,
  attrs: OpDef<K>["attrs"] = {} as OpDef<K>["attrs"],
): OpDef<K> {
  return {
    attrs,
    arity: [1, 1],
    infer: (c) => [{ dtype: c.inputs[0]!.dtype, shape: c.inputs[0]!.shape }],
    fold: (c) => foldMap<K>((v) => f(v[0]!, c.node.attrs as Record<string, number | undefined>))(c),
    grad,
  };
}
