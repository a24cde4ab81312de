// Activations beyond the basic ones (PRelu, Selu, Celu, HardSigmoid, HardSwish, ...): shape rules, folds and VJPs.
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";
import type { OpType } from "./attrs.js";
import type { GradRule, OpTable } from "./types.js";
import { broadcastShapes, foldMap, opLabel, unaryOp } from "./util.js";

const vjp = <K extends OpType>(rule: Extract<GradRule<K>, { kind: "vjp" }>["vjp"]): GradRule<K> => ({ kind: "vjp", vjp: rule });

const act = unaryOp;

const zero = (g: Builder, like: Value) => g.scalarLike(0, like);
const c = (g: Builder, v: number, like: Value) => g.scalarLike(v, like);
const pos = (g: Builder, x: Value) => g.greater(x, zero(g, x));

/** SELU's constants as ONNX defines them (float32). */
export const SELU_ALPHA = 1.67326319217681884765625,
  SELU_GAMMA = 1.05070102214813232421875;

type Ks = "Selu" | "Celu" | "PRelu" | "HardSigmoid" | "HardSwish" | "ThresholdedRelu" | "Softsign" | "Shrink" | "Sin" | "Cos";

export const activationOps: OpTable<Ks> = {
  // d selu(x) = dy * (x > 0 ? gamma : y + gamma*alpha)
  Selu: act<"Selu">(
    (x, a) => (a.gamma ?? SELU_GAMMA) * (x > 0 ? x : (a.alpha ?? SELU_ALPHA) * Math.expm1(x)),
    vjp(({ g, x, y, node }, [dy]) => {
      const gamma = node.attrs.gamma ?? SELU_GAMMA,
        alpha = node.attrs.alpha ?? SELU_ALPHA;
      return [g.mul(dy!, g.where(pos(g, x[0]!), c(g, gamma, dy!), g.addv(y[0]!, c(g, gamma * alpha, dy!))))];
    }),
    { alpha: "float", gamma: "float" },
  ),
  // d celu(x) = dy * (x > 0 ? 1 : exp(x/alpha))
  Celu: act<"Celu">(
    (x, a) => Math.max(0, x) + Math.min(0, (a.alpha ?? 1) * Math.expm1(x / (a.alpha ?? 1))),
    vjp(({ g, x, node }, [dy]) => {
      const e = g.exp(g.div(x[0]!, c(g, node.attrs.alpha ?? 1, dy!)));
      return [g.where(pos(g, x[0]!), dy!, g.mul(dy!, e))];
    }),
    { alpha: "float" },
  ),
  // d prelu(x, s) = (dy * (x < 0 ? s : 1), dy * (x < 0 ? x : 0))   NOTE: slope side at x = 0 is never taken (x*s = x = 0)
  PRelu: {
    attrs: {},
    arity: [2, 2],
    infer: (ctx) => [
      {
        dtype: ctx.inputs[0]!.dtype,
        shape: broadcastShapes([ctx.inputs[0]!.shape, ctx.inputs[1]!.shape], opLabel("PRelu", ctx.node.name)),
      },
    ],
    fold: foldMap<"PRelu">((v) => (v[0]! < 0 ? v[0]! * v[1]! : v[0]!)),
    grad: vjp(({ g, x, needs }, [dy]) => {
      const neg = g.less(x[0]!, zero(g, x[0]!));
      return [needs[0] ? g.where(neg, g.mul(dy!, x[1]!), dy!) : null, needs[1] ? g.where(neg, g.mul(dy!, x[0]!), zero(g, dy!)) : null];
    }),
  },
  // d hardsigmoid(x) = dy * alpha where 0 < alpha*x + beta < 1, else 0
  HardSigmoid: act<"HardSigmoid">(
    (x, a) => Math.max(0, Math.min(1, (a.alpha ?? 0.2) * x + (a.beta ?? 0.5))),
    vjp(({ g, x, node }, [dy]) => {
      const alpha = node.attrs.alpha ?? 0.2;
      const t = g.addv(g.mul(x[0]!, c(g, alpha, dy!)), c(g, node.attrs.beta ?? 0.5, dy!));
      // nested Where, not And: WebGPU has no And kernel
      const inside = g.where(g.less(t, c(g, 1, dy!)), g.mul(dy!, c(g, alpha, dy!)), zero(g, dy!));
      return [g.where(g.greater(t, zero(g, dy!)), inside, zero(g, dy!))];
    }),
    { alpha: "float", beta: "float" },
  ),
  // d hardswish(x) = dy * (x < -3 ? 0 : x > 3 ? 1 : x/3 + 1/2)
  HardSwish: act<"HardSwish">(
    (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)),
    vjp(({ g, x }, [dy]) => {
      const xv = x[0]!;
      const mid = g.addv(g.div(xv, c(g, 3, dy!)), c(g, 0.5, dy!));
      const slope = g.where(g.less(xv, c(g, -3, dy!)), zero(g, dy!), g.where(g.greater(xv, c(g, 3, dy!)), c(g, 1, dy!), mid));
      return [g.mul(dy!, slope)];
    }),
  ),
  // d thresholdedrelu(x) = dy * (x > alpha)
  ThresholdedRelu: act<"ThresholdedRelu">(
    (x, a) => (x > (a.alpha ?? 1) ? x : 0),
    vjp(({ g, x, node }, [dy]) => [g.where(g.greater(x[0]!, c(g, node.attrs.alpha ?? 1, dy!)), dy!, zero(g, dy!))]),
    { alpha: "float" },
  ),
  // d softsign(x) = dy / (1 + |x|)^2
  Softsign: act<"Softsign">(
    (x) => x / (1 + Math.abs(x)),
    vjp(({ g, x }, [dy]) => {
      const d = g.addv(g.abs(x[0]!), c(g, 1, dy!));
      return [g.div(dy!, g.mul(d, d))];
    }),
  ),
  // d shrink(x) = dy * (|x| > lambd)
  Shrink: act<"Shrink">(
    (x, a) => {
      const l = a.lambd ?? 0.5,
        b = a.bias ?? 0;
      return x < -l ? x + b : x > l ? x - b : 0;
    },
    vjp(({ g, x, node }, [dy]) => [g.where(g.greater(g.abs(x[0]!), c(g, node.attrs.lambd ?? 0.5, dy!)), dy!, zero(g, dy!))]),
    { bias: "float", lambd: "float" },
  ),
  // d sin(x) = dy * cos(x)
  Sin: act<"Sin">(
    Math.sin,
    vjp(({ g, x }, [dy]) => [g.mul(dy!, g.one("Cos", [x[0]!], {}))]),
  ),
  // d cos(x) = -dy * sin(x)
  Cos: act<"Cos">(
    Math.cos,
    vjp(({ g, x }, [dy]) => [g.neg(g.mul(dy!, g.one("Sin", [x[0]!], {})))]),
  ),
};
