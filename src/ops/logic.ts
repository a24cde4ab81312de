// Comparisons, selection, casts, min/max and clip: mostly gradient-free; Where/Max/Min/Clip route dy by masks.
import { type DType, dtypeFromOnnx } from "../ir/tensor.js";
import type { OpType } from "./attrs.js";
import type { GradRule, OpDef, OpTable } from "./types.js";
import { broadcastInfer, broadcastShapes, foldMap, opLabel } from "./util.js";

const none = { kind: "none" } as const;

function compare<K extends OpType>(f: (a: number, b: number) => boolean, arity = 2): OpDef<K> {
  return {
    attrs: {} as OpDef<K>["attrs"],
    arity: [arity, arity],
    infer: (c) => [
      {
        dtype: "bool",
        shape: broadcastShapes(
          c.inputs.map((v) => v!.shape),
          opLabel(c.node.op, c.node.name),
        ),
      },
    ],
    fold: foldMap<K>(
      (v) => (f(v[0]!, v[1] ?? 0) ? 1 : 0),
      () => "bool",
    ),
    grad: none,
  };
}

/** Splits dy among the inputs that attain the extremum: dx_i = dy * [x_i == y] / #ties. */
const extremumGrad: GradRule<"Max" | "Min"> = {
  kind: "vjp",
  // d max(x_i) = dy * [x_i == y] / #{j : x_j == y}   NOTE: ties share dy equally, as PyTorch's binary max
  vjp: ({ g, x, y, needs }, [dy]) => {
    if (x.length === 1) return [dy!];
    const masks = x.map((xi) => g.cast(g.equal(xi!, y[0]!), dy!.dtype));
    const count = g.sum(masks);
    return x.map((_, i) => (needs[i] ? g.div(g.mul(dy!, masks[i]!), count) : null));
  },
};

type Ks =
  | "Clip"
  | "Max"
  | "Min"
  | "Where"
  | "Cast"
  | "Equal"
  | "Greater"
  | "Less"
  | "GreaterOrEqual"
  | "LessOrEqual"
  | "Not"
  | "And"
  | "Or"
  | "Xor"
  | "Mod";

export const logicOps: OpTable<Ks> = {
  // d clip(x) = dy * (min <= x <= max)   NOTE: the bounds pass the gradient, as PyTorch's clamp
  Clip: {
    stopGradient: [1, 2],
    attrs: {},
    arity: [1, 3],
    infer: (c) => [{ dtype: c.inputs[0]!.dtype, shape: c.inputs[0]!.shape }],
    fold: foldMap((v) => Math.min(Math.max(v[0]!, v[1] ?? -Infinity), v[2] ?? Infinity)),
    grad: {
      kind: "vjp",
      vjp: ({ g, x }, [dy]) => {
        const zero = g.scalarLike(0, dy!);
        let d = dy!;
        if (x[1]) d = g.where(g.less(x[0]!, x[1]), zero, d);
        if (x[2]) d = g.where(g.greater(x[0]!, x[2]), zero, d);
        return [d];
      },
    },
  },
  Max: {
    attrs: {},
    arity: [1, 64],
    infer: (c) => broadcastInfer(c),
    fold: foldMap((v) => Math.max(...v)),
    grad: extremumGrad as GradRule<"Max">,
  },
  Min: {
    attrs: {},
    arity: [1, 64],
    infer: (c) => broadcastInfer(c),
    fold: foldMap((v) => Math.min(...v)),
    grad: extremumGrad as GradRule<"Min">,
  },
  // d where(c, a, b) = (-, where(c, dy, 0), where(c, 0, dy))
  Where: {
    stopGradient: [0],
    attrs: {},
    arity: [3, 3],
    infer: (c) => {
      const label = opLabel("Where", c.node.name);
      if (c.inputs[0]!.dtype !== "bool")
        throw new Error(`${label}: condition "${c.inputs[0]!.name}" must be bool, is ${c.inputs[0]!.dtype}`);
      return [
        {
          dtype: broadcastInfer(c, 1)[0]!.dtype,
          shape: broadcastShapes(
            c.inputs.map((v) => v!.shape),
            label,
          ),
        },
      ];
    },
    fold: foldMap(
      (v) => (v[0] ? v[1]! : v[2]!),
      (c) => c.inputs[1]!.dtype,
    ),
    grad: {
      kind: "vjp",
      vjp: ({ g, x, needs }, [dy]) => {
        const zero = g.scalarLike(0, dy!);
        return [null, needs[1] ? g.where(x[0]!, dy!, zero) : null, needs[2] ? g.where(x[0]!, zero, dy!) : null];
      },
    },
  },
  // d cast(x) = cast(dy, dtype(x)) between float types; integer paths carry no gradient
  Cast: {
    attrs: { to: "int", saturate: "int" },
    arity: [1, 1],
    infer: (c) => [{ dtype: dtypeFromOnnx(c.node.attrs.to, opLabel("Cast", c.node.name)), shape: c.inputs[0]!.shape }],
    fold: (c) =>
      foldMap<"Cast">(
        (v) => v[0]!,
        (cc) => dtypeFromOnnx(cc.node.attrs.to, opLabel("Cast", cc.node.name)) as DType,
      )(c),
    grad: {
      kind: "vjp",
      vjp: ({ g, x, y }, [dy]) => [
        y[0]!.dtype === "float32" || y[0]!.dtype === "float64" ? (x[0]!.dtype === dy!.dtype ? dy! : g.cast(dy!, x[0]!.dtype)) : null,
      ],
    },
  },
  Equal: compare((a, b) => a === b),
  Greater: compare((a, b) => a > b),
  Less: compare((a, b) => a < b),
  GreaterOrEqual: compare((a, b) => a >= b),
  LessOrEqual: compare((a, b) => a <= b),
  Not: compare((a) => !a, 1),
  And: compare((a, b) => !!a && !!b),
  Or: compare((a, b) => !!a || !!b),
  Xor: compare((a, b) => !!a !== !!b),
  Mod: {
    attrs: { fmod: "int" },
    arity: [2, 2],
    infer: (c) => broadcastInfer(c),
    fold: (c) =>
      foldMap<"Mod">((v) => {
        const r = v[0]! % v[1]!;
        return c.node.attrs.fmod || r === 0 || Math.sign(r) === Math.sign(v[1]!) ? r : r + v[1]!;
      })(c),
    grad: none,
  },
};
