// Rewrites of ops a backend lacks into ops it runs (same math); fitGraph applies them only where the profile refuses a node.
import type { Builder } from "../builder/builder.js";
import type { Node, Value } from "../ir/graph.js";
import { SELU_ALPHA, SELU_GAMMA } from "./activation.js";
import { lrnComposed } from "./lrn.js";
import { triluComposed } from "./scan.js";
import type { OpType } from "./attrs.js";
import { normAxis, opLabel } from "./util.js";

export type Lowering<K extends OpType> = (g: Builder, node: Node<K>) => Value[];

const inputs = (n: Node): Value[] => n.inputs.filter((v): v is Value => v !== null);

/** Folds a variadic elementwise op left to right with a binary rewrite. */
const fold = (g: Builder, n: Node, step: (a: Value, b: Value) => Value): Value => inputs(n).reduce((a, b) => step(a, b));

export const LOWERINGS: { readonly [K in OpType]?: Lowering<K> } = {
  // sign(x) = where(x > 0, 1, where(x < 0, −1, 0))   NOTE: NaN maps to 0 (Sign keeps NaN)
  Sign: (g, n) => {
    const x = n.inputs[0]!,
      zero = g.scalar(0, x.dtype);
    return [g.where(g.greater(x, zero), g.scalar(1, x.dtype), g.where(g.less(x, zero), g.scalar(-1, x.dtype), zero))];
  },
  // log softmax(x) = (x − m) − log Σ exp(x − m), m = max(x) along the axis: the shift keeps exp from overflowing
  LogSoftmax: (g, n) => {
    const x = n.inputs[0]!;
    if (x.rank === undefined) throw new Error(`${opLabel(n.op, n.name)}: rewriting for this backend needs the input's rank`);
    const axis = normAxis(n.attrs.axis ?? -1, x.rank, opLabel(n.op, n.name));
    const shifted = g.sub(x, g.reduceMax(x, [axis], true));
    return [g.sub(shifted, g.log(g.reduceSum(g.exp(shifted), [axis], true)))];
  },
  // max(a, b) = where(a > b, a, b)   NOTE: a NaN in a gives b (Max propagates NaN)
  Max: (g, n) => [fold(g, n, (a, b) => g.where(g.greater(a, b), a, b))],
  // min(a, b) = where(a < b, a, b)   NOTE: a NaN in a gives b (Min propagates NaN)
  Min: (g, n) => [fold(g, n, (a, b) => g.where(g.less(a, b), a, b))],
  // sum(a, b, c) = (a + b) + c
  Sum: (g, n) => [fold(g, n, (a, b) => g.addv(a, b))],
  // clip(x, min) = clip(x, min, +max float): a missing bound is the widest finite one
  Clip: (g, n) => {
    const x = n.inputs[0]!,
      big = x.dtype === "float64" ? Number.MAX_VALUE : 3.4028234663852886e38;
    return [g.clip(x, n.inputs[1] ?? g.scalar(-big, x.dtype), n.inputs[2] ?? g.scalar(big, x.dtype))];
  },
  // size(x) = Π shape(x)
  Size: (g, n) => [g.one("ReduceProd", [g.shapeOf(n.inputs[0]!)], { keepdims: 0 })],
  // training-mode BN from batch statistics (ONNX opset 15): μ, σ² = mean, population variance over N and space;
  // y = (x − μ)/√(σ² + ε)·scale + B; running stats = input·momentum + batch·(1 − momentum)
  BatchNormalization: (g, n) => {
    const [x, scale, bias, mean, varv] = n.inputs as Value[];
    const label = opLabel(n.op, n.name);
    if (!n.attrs.training_mode) throw new Error(`internal: ${label} in inference mode needs no rewrite`);
    if (x!.rank === undefined) throw new Error(`${label}: rewriting for this backend needs the input's rank`);
    const r = x!.rank;
    const axes = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)];
    const perChannel = (v: Value) => g.reshape(v, [1, -1, ...new Array<number>(r - 2).fill(1)]);
    const mu = g.reduceMean(x!, axes, true);
    const xc = g.sub(x!, mu);
    const v = g.reduceMean(g.mul(xc, xc), axes, true);
    const y = g.addv(
      g.mul(g.div(xc, g.sqrt(g.addv(v, g.scalar(n.attrs.epsilon ?? 1e-5, x!.dtype)))), perChannel(scale!)),
      perChannel(bias!),
    );
    const m = n.attrs.momentum ?? 0.9;
    const blend = (running: Value, batch: Value) =>
      g.addv(g.mul(running, g.scalar(m, x!.dtype)), g.mul(g.reshape(batch, [-1]), g.scalar(1 - m, x!.dtype)));
    return [y, blend(mean!, mu), blend(varv!, v)].slice(0, n.outputs.length);
  },
  // hardsigmoid(x) = clip(alpha*x + beta, 0, 1)
  HardSigmoid: (g, n) => {
    const x = n.inputs[0]!;
    const t = g.addv(g.mul(x, g.scalar(n.attrs.alpha ?? 0.2, x.dtype)), g.scalar(n.attrs.beta ?? 0.5, x.dtype));
    return [g.clip(t, g.scalar(0, x.dtype), g.scalar(1, x.dtype))];
  },
  // hardswish(x) = x * clip(x/6 + 1/2, 0, 1)
  HardSwish: (g, n) => {
    const x = n.inputs[0]!;
    const t = g.addv(g.div(x, g.scalar(6, x.dtype)), g.scalar(0.5, x.dtype));
    return [g.mul(x, g.clip(t, g.scalar(0, x.dtype), g.scalar(1, x.dtype)))];
  },
  // prelu(x, s) = where(x < 0, x*s, x)
  PRelu: (g, n) => {
    const [x, s] = n.inputs as Value[];
    return [g.where(g.less(x!, g.scalar(0, x!.dtype)), g.mul(x!, s!), x!)];
  },
  // selu(x) = gamma * where(x > 0, x, alpha*(exp(x) - 1))
  Selu: (g, n) => {
    const x = n.inputs[0]!;
    const neg = g.mul(g.sub(g.exp(x), g.scalar(1, x.dtype)), g.scalar(n.attrs.alpha ?? SELU_ALPHA, x.dtype));
    return [g.mul(g.where(g.greater(x, g.scalar(0, x.dtype)), x, neg), g.scalar(n.attrs.gamma ?? SELU_GAMMA, x.dtype))];
  },
  // celu(x) = where(x > 0, x, alpha*(exp(x/alpha) - 1))
  Celu: (g, n) => {
    const x = n.inputs[0]!,
      a = g.scalar(n.attrs.alpha ?? 1, x.dtype);
    return [g.where(g.greater(x, g.scalar(0, x.dtype)), x, g.mul(g.sub(g.exp(g.div(x, a)), g.scalar(1, x.dtype)), a))];
  },
  // thresholdedrelu(x) = where(x > alpha, x, 0)
  ThresholdedRelu: (g, n) => {
    const x = n.inputs[0]!;
    return [g.where(g.greater(x, g.scalar(n.attrs.alpha ?? 1, x.dtype)), x, g.scalar(0, x.dtype))];
  },
  // shrink(x) = where(x < -l, x + b, where(x > l, x - b, 0))
  Shrink: (g, n) => {
    const x = n.inputs[0]!,
      l = n.attrs.lambd ?? 0.5,
      b = g.scalar(n.attrs.bias ?? 0, x.dtype);
    const upper = g.where(g.greater(x, g.scalar(l, x.dtype)), g.sub(x, b), g.scalar(0, x.dtype));
    return [g.where(g.less(x, g.scalar(-l, x.dtype)), g.addv(x, b), upper)];
  },
  // softsign(x) = x / (1 + |x|)
  Softsign: (g, n) => {
    const x = n.inputs[0]!;
    return [g.div(x, g.addv(g.abs(x), g.scalar(1, x.dtype)))];
  },
  // lrn(x) = x · (bias + α/size · Σ_window x²)^−β, the window sum as a ones Conv over channels
  LRN: (g, n) => [lrnComposed(g, n.inputs[0]!, n.attrs, opLabel(n.op, n.name))],
  // trilu(x) = where(M, x, 0), M the kept triangle of the last two axes as a constant
  Trilu: (g, n) => [triluComposed(g, n.inputs[0]!, n.inputs[1] ?? null, n.attrs, opLabel(n.op, n.name))],
  // mean(a, b, c) = ((a + b) + c) / 3
  Mean: (g, n) => {
    const xs = inputs(n);
    return [
      g.div(
        fold(g, n, (a, b) => g.addv(a, b)),
        g.scalar(xs.length, xs[0]!.dtype),
      ),
    ];
  },
};
