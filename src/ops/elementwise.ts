// Elementwise ops: arithmetic, activations and their VJPs (gradients shaped like the output; the driver un-broadcasts).
import type { OpType } from "./attrs.js";
import { activationOps } from "./activation.js";
import { logicOps } from "./logic.js";
import type { GradRule, OpDef, OpTable } from "./types.js";
import { broadcastInfer, broadcastShapes, foldMap, opLabel, unaryOp } from "./util.js";

const none = { kind: "none" } as const;

const unary = unaryOp;

function binary<K extends OpType>(f: (a: number, b: number) => number, grad: GradRule<K>): OpDef<K> {
  return { attrs: {} as OpDef<K>["attrs"], arity: [2, 2], infer: (c) => broadcastInfer(c), fold: foldMap<K>((v) => f(v[0]!, v[1]!)), grad };
}

function variadic<K extends OpType>(f: (v: number[]) => number, grad: GradRule<K>): OpDef<K> {
  return { attrs: {} as OpDef<K>["attrs"], arity: [1, 64], infer: (c) => broadcastInfer(c), fold: foldMap<K>(f), grad };
}

const vjp = <K extends OpType>(rule: Extract<GradRule<K>, { kind: "vjp" }>["vjp"]): GradRule<K> => ({ kind: "vjp", vjp: rule });
const truncDiv = (a: number, b: number) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b);

type Ks =
  | "Add"
  | "Sub"
  | "Mul"
  | "Div"
  | "Pow"
  | "Neg"
  | "Exp"
  | "Log"
  | "Sqrt"
  | "Abs"
  | "Reciprocal"
  | "Sign"
  | "Floor"
  | "Ceil"
  | "Round"
  | "Erf"
  | "Relu"
  | "LeakyRelu"
  | "Sigmoid"
  | "Tanh"
  | "Softplus"
  | "Elu"
  | "Sum"
  | "Mean"
  | "Identity"
  | "Dropout";

const arith: OpTable<Ks> = {
  // d(a+b) = (dy, dy)
  Add: binary(
    (a, b) => a + b,
    vjp((_c, [dy]) => [dy!, dy!]),
  ),
  // d(a-b) = (dy, -dy)
  Sub: binary(
    (a, b) => a - b,
    vjp(({ g, needs }, [dy]) => [dy!, needs[1] ? g.neg(dy!) : null]),
  ),
  // d(a*b) = (dy*b, dy*a)
  Mul: binary(
    (a, b) => a * b,
    vjp(({ g, x, needs }, [dy]) => [needs[0] ? g.mul(dy!, x[1]!) : null, needs[1] ? g.mul(dy!, x[0]!) : null]),
  ),
  // d(a/b) = (dy/b, -dy*y/b)
  Div: binary(
    truncDiv,
    vjp(({ g, x, y, needs }, [dy]) => [needs[0] ? g.div(dy!, x[1]!) : null, needs[1] ? g.neg(g.div(g.mul(dy!, y[0]!), x[1]!)) : null]),
  ),
  // d(a^b) = (dy*b*a^(b-1), dy*y*log(a))
  Pow: {
    attrs: {},
    arity: [2, 2],
    infer: (c) => [
      { dtype: c.inputs[0]!.dtype, shape: broadcastShapes([c.inputs[0]!.shape, c.inputs[1]!.shape], opLabel("Pow", c.node.name)) },
    ],
    fold: foldMap((v) => Math.pow(v[0]!, v[1]!)),
    grad: vjp(({ g, x, y, needs }, [dy]) => {
      const [a, b] = [x[0]!, x[1]!];
      const bf = b.dtype === a.dtype ? b : g.cast(b, a.dtype);
      return [
        needs[0] ? g.mul(dy!, g.mul(bf, g.pow(a, g.sub(bf, g.scalarLike(1, a))))) : null,
        // NOTE: where a^b = 0 (a = 0, b > 0) the exponent's term is its limit 0, not 0·log 0 = NaN (as PyTorch)
        needs[1] ? g.mul(dy!, g.where(g.equal(y[0]!, g.scalarLike(0, y[0]!)), g.scalarLike(0, y[0]!), g.mul(y[0]!, g.log(a)))) : null,
      ];
    }),
  },
  // d(-x) = -dy
  Neg: unary(
    (x) => -x,
    vjp(({ g }, [dy]) => [g.neg(dy!)]),
  ),
  // d exp(x) = dy*y
  Exp: unary(
    Math.exp,
    vjp(({ g, y }, [dy]) => [g.mul(dy!, y[0]!)]),
  ),
  // d log(x) = dy/x
  Log: unary(
    Math.log,
    vjp(({ g, x }, [dy]) => [g.div(dy!, x[0]!)]),
  ),
  // d sqrt(x) = dy/(2y)
  Sqrt: unary(
    Math.sqrt,
    vjp(({ g, y }, [dy]) => [g.div(dy!, g.mul(y[0]!, g.scalarLike(2, dy!)))]),
  ),
  // d |x| = dy*sign(x)   NOTE: 0 at x = 0, as PyTorch
  Abs: unary(
    Math.abs,
    vjp(({ g, x }, [dy]) => [g.mul(dy!, g.sign(x[0]!))]),
  ),
  // d (1/x) = -dy*y^2
  Reciprocal: unary(
    (x) => 1 / x,
    vjp(({ g, y }, [dy]) => [g.neg(g.mul(dy!, g.mul(y[0]!, y[0]!)))]),
  ),
  Sign: unary(Math.sign, none),
  Floor: unary(Math.floor, none),
  Ceil: unary(Math.ceil, none),
  Round: unary((x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
  }, none),
  // d erf(x) = dy * 2/sqrt(pi) * exp(-x^2)
  Erf: {
    attrs: {},
    arity: [1, 1],
    infer: (c) => [{ dtype: c.inputs[0]!.dtype, shape: c.inputs[0]!.shape }],
    grad: vjp(({ g, x }, [dy]) => [g.mul(dy!, g.mul(g.scalarLike(2 / Math.sqrt(Math.PI), dy!), g.exp(g.neg(g.mul(x[0]!, x[0]!)))))]),
  },
  // d relu(x) = dy * (x > 0)   NOTE: 0 at x = 0, as PyTorch; Mul by the cast mask runs ~2× faster than Where on ORT CPU
  // (an infinite dy at a unit that is off now gives NaN rather than 0)
  Relu: unary(
    (x) => Math.max(x, 0),
    // the mask from y (y > 0 ⇔ x > 0): x is then read by the ReLU alone, so a Conv before it can fuse it (oneDNN post-op)
    vjp(({ g, y }, [dy]) => [g.mul(dy!, g.cast(g.greater(y[0]!, g.scalarLike(0, dy!)), dy!.dtype))]),
  ),
  // d leaky(x) = dy * (x > 0 ? 1 : alpha)
  LeakyRelu: unary(
    (x) => x,
    vjp(({ g, x, node }, [dy]) => [
      g.where(g.greater(x[0]!, g.scalarLike(0, dy!)), dy!, g.mul(dy!, g.scalarLike(node.attrs.alpha ?? 0.01, dy!))),
    ]),
    { alpha: "float" },
  ),
  // d sigmoid(x) = dy*y*(1-y)
  Sigmoid: unary(
    (x) => 1 / (1 + Math.exp(-x)),
    vjp(({ g, y }, [dy]) => [g.mul(dy!, g.mul(y[0]!, g.sub(g.scalarLike(1, dy!), y[0]!)))]),
  ),
  // d tanh(x) = dy*(1-y^2)
  Tanh: unary(
    Math.tanh,
    vjp(({ g, y }, [dy]) => [g.mul(dy!, g.sub(g.scalarLike(1, dy!), g.mul(y[0]!, y[0]!)))]),
  ),
  // d softplus(x) = dy*sigmoid(x)
  Softplus: unary(
    (x) => Math.log1p(Math.exp(x)),
    vjp(({ g, x }, [dy]) => [g.mul(dy!, g.sigmoid(x[0]!))]),
  ),
  // d elu(x) = dy * (x > 0 ? 1 : y + alpha)
  Elu: unary(
    (x) => x,
    vjp(({ g, x, y, node }, [dy]) => [
      g.where(g.greater(x[0]!, g.scalarLike(0, dy!)), dy!, g.mul(dy!, g.addv(y[0]!, g.scalarLike(node.attrs.alpha ?? 1, dy!)))),
    ]),
    { alpha: "float" },
  ),
  // d sum(x_i) = dy for each i
  Sum: variadic(
    (v) => v.reduce((a, b) => a + b, 0),
    vjp(({ x }, [dy]) => x.map(() => dy!)),
  ),
  // d mean(x_i) = dy/n for each i
  Mean: variadic(
    (v) => v.reduce((a, b) => a + b, 0) / v.length,
    vjp(({ g, x }, [dy]) => {
      const d = g.div(dy!, g.scalarLike(x.length, dy!));
      return x.map(() => d);
    }),
  ),
  // d identity = dy
  Identity: {
    attrs: {},
    arity: [1, 1],
    infer: (c) => [{ dtype: c.inputs[0]!.dtype, shape: c.inputs[0]!.shape }],
    grad: vjp((_c, [dy]) => [dy!]),
  },
  // d dropout (inference) = dy; training-mode dropout is refused (its mask is random)
  Dropout: {
    stopGradient: [1, 2],
    attrs: { seed: "int" },
    arity: [1, 3],
    outputs: () => 1,
    infer: (c) => [
      { dtype: c.inputs[0]!.dtype, shape: c.inputs[0]!.shape },
      { dtype: "bool", shape: c.inputs[0]!.shape },
    ],
    grad: vjp(({ node, x }, [dy]) => {
      const tm = x[2]?.data;
      if (x[2] && (!tm || tm.data[0]))
        throw new Error(`grad: cannot differentiate Dropout "${node.name}" in training mode; export the model in eval mode`);
      return [dy!];
    }),
  },
};

// Relu/LeakyRelu/Elu folds need their attrs; keep them exact
arith.LeakyRelu.fold = undefined;
arith.Elu.fold = undefined;

export const elementwiseOps = { ...arith, ...activationOps, ...logicOps };
