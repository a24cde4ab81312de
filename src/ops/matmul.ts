// MatMul and Gemm: shape rules and VJPs (batch broadcasting of MatMul is undone by the driver's un-broadcast).
import type { Builder } from "../builder/builder.js";
import type { Dim, Value } from "../ir/graph.js";
import type { OpTable } from "./types.js";
import { broadcastShapes, opLabel } from "./util.js";

const swapLast = (g: Builder, v: Value): Value => {
  const r = v.rank!;
  return g.transpose(v, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
};

const sameDim = (a: Dim, b: Dim) => a === b || typeof a === "string" || typeof b === "string";

export const matmulOps: OpTable<"MatMul" | "Gemm"> = {
  MatMul: {
    attrs: {},
    arity: [2, 2],
    infer: ({ node, inputs }) => {
      const [a, b] = [inputs[0]!, inputs[1]!];
      const label = opLabel("MatMul", node.name);
      if (!a.shape || !b.shape) return [{ dtype: a.dtype, shape: null }];
      const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
      const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
      if (as.length < 2 || bs.length < 2) throw new Error(`${label}: scalar operands`);
      const k1 = as[as.length - 1]!,
        k2 = bs[bs.length - 2]!;
      if (!sameDim(k1, k2)) throw new Error(`${label}: ${a} times ${b}: inner dimensions ${k1} and ${k2} differ`);
      const batch = broadcastShapes([as.slice(0, -2), bs.slice(0, -2)], label)!;
      const shape: Dim[] = [...batch];
      if (a.shape.length > 1) shape.push(as[as.length - 2]!);
      if (b.shape.length > 1) shape.push(bs[bs.length - 1]!);
      return [{ dtype: a.dtype, shape }];
    },
    grad: {
      kind: "vjp",
      // d(A@B) = (dy @ B^T, A^T @ dy); 1-D operands act as a row (A) or column (B)
      vjp: ({ g, x, needs }, [dy]) => {
        const [a, b] = [x[0]!, x[1]!];
        if (a.rank === 1 && b.rank === 1) return [needs[0] ? g.mul(dy!, b) : null, needs[1] ? g.mul(dy!, a) : null];
        if (b.rank === 1) {
          const d = g.unsqueeze(dy!, [-1]);
          return [needs[0] ? g.mul(d, b) : null, needs[1] ? g.mul(a, d) : null];
        }
        if (a.rank === 1) {
          const d = g.unsqueeze(dy!, [-2]);
          return [needs[0] ? g.reduceSum(g.mul(b, d), [-1], false) : null, needs[1] ? g.mul(g.unsqueeze(a, [-1]), d) : null];
        }
        return [needs[0] ? g.matmul(dy!, swapLast(g, b)) : null, needs[1] ? g.matmul(swapLast(g, a), dy!) : null];
      },
    },
  },
  Gemm: {
    attrs: { alpha: "float", beta: "float", transA: "int", transB: "int" },
    arity: [2, 3],
    infer: ({ node, inputs }) => {
      const [a, b] = [inputs[0]!, inputs[1]!];
      const label = opLabel("Gemm", node.name);
      if (!a.shape || !b.shape) return [{ dtype: a.dtype, shape: null }];
      if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error(`${label}: needs 2-D operands, got ${a} and ${b}`);
      const [m, k1] = node.attrs.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
      const [k2, n] = node.attrs.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
      if (!sameDim(k1, k2)) throw new Error(`${label}: ${a} times ${b}: inner dimensions ${k1} and ${k2} differ`);
      return [{ dtype: a.dtype, shape: [m, n] }];
    },
    grad: {
      kind: "vjp",
      // y = α·A'B' + β·C:  dA' = α·dy·B'^T,  dB' = α·A'^T·dy,  dC = β·dy
      vjp: ({ g, x, node, needs }, [dy]) => {
        const { alpha = 1, beta = 1, transA = 0, transB = 0 } = node.attrs;
        const [a, b, c] = [x[0]!, x[1]!, x[2] ?? null];
        const da = !needs[0]
          ? null
          : transA
            ? g.gemm(b, dy!, null, { alpha, transA: transB ? 1 : 0, transB: 1 })
            : g.gemm(dy!, b, null, { alpha, transB: transB ? 0 : 1 });
        const db = !needs[1]
          ? null
          : transB
            ? g.gemm(dy!, a, null, { alpha, transA: 1, transB: transA ? 1 : 0 })
            : g.gemm(a, dy!, null, { alpha, transA: transA ? 0 : 1 });
        const dc = c && needs[2] ? (beta === 1 ? dy! : g.mul(dy!, g.scalarLike(beta, dy!))) : null;
        return [da, db, dc];
      },
    },
  },
};
