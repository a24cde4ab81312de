// Trigonometric and hyperbolic ops beyond Sin/Cos: elementwise, folded in JS, VJPs from their derivatives.
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";
import type { OpType } from "./attrs.js";
import type { GradRule, OpTable } from "./types.js";
import { unaryOp } from "./util.js";

type Ks = "Tan" | "Asin" | "Acos" | "Atan" | "Sinh" | "Cosh" | "Asinh" | "Acosh" | "Atanh";

/** A VJP dx = dy ⊙ f'(x, y), f' built from x and y. */
const chain = <K extends OpType>(deriv: (g: Builder, x: Value, y: Value) => Value): GradRule<K> => ({
  kind: "vjp",
  vjp: ({ g, x, y }, [dy]) => [g.mul(dy!, deriv(g, x[0]!, y[0]!))],
});
const one = (g: Builder, like: Value) => g.scalarLike(1, like);
const sq = (g: Builder, v: Value) => g.mul(v, v);

export const trigOps: OpTable<Ks> = {
  // d tan(x) = dy * (1 + y²)
  Tan: unaryOp<"Tan">(
    Math.tan,
    chain((g, _x, y) => g.addv(one(g, y), sq(g, y))),
  ),
  // d asin(x) = dy / √(1 − x²)
  Asin: unaryOp<"Asin">(
    Math.asin,
    chain((g, x) => g.one("Reciprocal", [g.sqrt(g.sub(one(g, x), sq(g, x)))], {})),
  ),
  // d acos(x) = −dy / √(1 − x²)
  Acos: unaryOp<"Acos">(
    Math.acos,
    chain((g, x) => g.neg(g.one("Reciprocal", [g.sqrt(g.sub(one(g, x), sq(g, x)))], {}))),
  ),
  // d atan(x) = dy / (1 + x²)
  Atan: unaryOp<"Atan">(
    Math.atan,
    chain((g, x) => g.one("Reciprocal", [g.addv(one(g, x), sq(g, x))], {})),
  ),
  // d sinh(x) = dy * cosh(x)
  Sinh: unaryOp<"Sinh">(
    Math.sinh,
    chain((g, x) => g.one("Cosh", [x], {})),
  ),
  // d cosh(x) = dy * sinh(x)
  Cosh: unaryOp<"Cosh">(
    Math.cosh,
    chain((g, x) => g.one("Sinh", [x], {})),
  ),
  // d asinh(x) = dy / √(x² + 1)
  Asinh: unaryOp<"Asinh">(
    Math.asinh,
    chain((g, x) => g.one("Reciprocal", [g.sqrt(g.addv(sq(g, x), one(g, x)))], {})),
  ),
  // d acosh(x) = dy / √(x² − 1)
  Acosh: unaryOp<"Acosh">(
    Math.acosh,
    chain((g, x) => g.one("Reciprocal", [g.sqrt(g.sub(sq(g, x), one(g, x)))], {})),
  ),
  // d atanh(x) = dy / (1 − x²)
  Atanh: unaryOp<"Atanh">(
    Math.atanh,
    chain((g, x) => g.one("Reciprocal", [g.sub(one(g, x), sq(g, x))], {})),
  ),
};
