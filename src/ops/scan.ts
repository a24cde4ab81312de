// CumSum and Trilu: shape-preserving ops whose VJPs are the same op (CumSum run the other way, Trilu with the same mask).
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";
import { formatShape, tensor } from "../ir/tensor.js";
import type { OpAttrMap } from "./attrs.js";
import type { OpTable } from "./types.js";
import { ints, opLabel } from "./util.js";

/** The integer scalar operand (CumSum's axis, Trilu's k) where constant. */
function scalarOperand(label: string, what: string, v: Value | null | undefined): number | undefined {
  if (!v) return undefined;
  if (v.dtype !== "int64" && v.dtype !== "int32") throw new Error(`${label}: ${what} ${v} must be int32 or int64`);
  if (v.shape && v.shape.length > 1) throw new Error(`${label}: ${what} ${v} must be a scalar`);
  return ints(v.data)?.[0];
}

/** Trilu as Where(mask, x, 0) with a constant mask over the last two axes (for backends without a Trilu kernel). */
export function triluComposed(g: Builder, x: Value, k: Value | null, attrs: OpAttrMap["Trilu"], label: string): Value {
  const s = x.shape;
  const [h, w] = [s?.[s.length - 2], s?.[s.length - 1]];
  const kv = scalarOperand(label, "k", k) ?? (k ? undefined : 0);
  if (typeof h !== "number" || typeof w !== "number" || kv === undefined)
    throw new Error(`${label}: rewriting for this backend needs static last two dims and a constant k, got ${formatShape(s)}`);
  const upper = (attrs.upper ?? 1) !== 0;
  const keep = Array.from({ length: h * w }, (_, i) => {
    const d = (i % w) - Math.floor(i / w);
    return upper ? d >= kv : d <= kv;
  });
  const mask = g.constant(tensor("bool", [h, w], keep.map(Number)), "trilu_mask");
  return g.where(mask, x, g.scalarLike(0, x));
}

export const scanOps: OpTable<"CumSum" | "Trilu"> = {
  // y_i = Σ_{j ≤ i} x_j (or j < i, or from the end)  ⇒  dx = CumSum(dy) in the other direction, same exclusivity
  CumSum: {
    stopGradient: [1],
    attrs: { exclusive: "int", reverse: "int" },
    arity: [2, 2],
    infer: ({ node, inputs }) => {
      scalarOperand(opLabel("CumSum", node.name), "axis", inputs[1]);
      return [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }];
    },
    grad: {
      kind: "vjp",
      vjp: ({ g, node, x }, [dy]) => [
        g.one("CumSum", [dy!, x[1]!], { exclusive: node.attrs.exclusive ?? 0, reverse: (node.attrs.reverse ?? 0) ? 0 : 1 }),
        null,
      ],
    },
  },
  // y = x ⊙ M (M the triangle kept)  ⇒  dx = Trilu(dy) with the same k and upper
  Trilu: {
    stopGradient: [1],
    attrs: { upper: "int" },
    arity: [1, 2],
    infer: ({ node, inputs }) => {
      const x = inputs[0]!;
      scalarOperand(opLabel("Trilu", node.name), "k", inputs[1]);
      if (x.shape && x.shape.length < 2) throw new Error(`${opLabel("Trilu", node.name)}: input ${formatShape(x.shape)} needs rank ≥ 2`);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    grad: { kind: "vjp", vjp: ({ g, node, x }, [dy]) => [g.one("Trilu", [dy!, x[1] ?? null], { ...node.attrs }), null] },
  },
};
