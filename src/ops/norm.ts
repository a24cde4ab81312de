// Normalization: BatchNormalization (inference and training mode), LayerNormalization, InstanceNormalization.
import type { Builder } from "../builder/builder.js";
import type { Dim, Value } from "../ir/graph.js";
import { tensor } from "../ir/tensor.js";
import type { OpTable } from "./types.js";
import { normAxis, opLabel } from "./util.js";

/** A [C] vector reshaped to broadcast over NC... of rank r. */
const perChannel = (g: Builder, v: Value, rank: number): Value => g.reshape(v, [1, -1, ...Array(rank - 2).fill(1)]);
const nonChannelAxes = (rank: number) => [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
const spatialAxes = (rank: number) => Array.from({ length: rank - 2 }, (_, i) => i + 2);

/** Batch statistics over `axes` (kept as 1s): centred x, 1/sqrt(var + eps) and xhat. */
function stats(g: Builder, x: Value, axes: number[], eps: number) {
  const xc = g.sub(x, g.reduceMean(x, axes, true));
  const invStd = g.div(g.scalarLike(1, x), g.sqrt(g.addv(g.reduceMean(g.mul(xc, xc), axes, true), g.scalarLike(eps, x))));
  return { xc, invStd, xhat: g.mul(xc, invStd) };
}

/** Gradient through xhat = (x - mean)/sqrt(var + eps) over `axes`: invStd * (gy - mean(gy) - xhat * mean(gy * xhat)). */
function throughXhat(g: Builder, gy: Value, xhat: Value, invStd: Value, axes: number[]): Value {
  const centred = g.sub(gy, g.reduceMean(gy, axes, true));
  return g.mul(invStd, g.sub(centred, g.mul(xhat, g.reduceMean(g.mul(gy, xhat), axes, true))));
}

/** Number of elements reduced over `axes`, as a scalar of x's dtype (static shapes) or a run-time value. */
function count(g: Builder, x: Value, axes: number[]): Value {
  const s = x.staticShape;
  if (s)
    return g.scalarLike(
      axes.reduce((a, i) => a * s[i]!, 1),
      x,
    );
  return g.reduceSum(g.one("ConstantOfShape", [g.shapeOf(x)], { value: tensor(x.dtype, [1], [1]) }), axes, true);
}

/** Gradients reaching the batch mean m and 1/sqrt(v + eps) (or v itself) directly, as contributions to dx. */
function statOutputs(g: Builder, x: Value, xc: Value, axes: number[], dMean: Value | null, dVar: Value | null): Value[] {
  const n = count(g, x, axes);
  const out: Value[] = [];
  // d mean/dx_i = 1/n;  d var/dx_i = 2 (x_i - mean)/n (the mean's own dependence sums to zero)
  if (dMean) out.push(g.expand(g.div(dMean, n), g.shapeOf(x)));
  if (dVar) out.push(g.div(g.mul(g.mul(dVar, xc), g.scalarLike(2, x)), n));
  return out;
}

export const normOps: OpTable<"BatchNormalization" | "LayerNormalization" | "InstanceNormalization"> = {
  BatchNormalization: {
    stopGradient: [3, 4],
    attrs: { epsilon: "float", momentum: "float", training_mode: "int" },
    arity: [5, 5],
    outputs: (n) => (n.attrs.training_mode ? 3 : 1),
    infer: ({ node, inputs }) => {
      const x = inputs[0]!;
      const c = x.shape?.[1];
      const label = opLabel("BatchNormalization", node.name);
      if (x.shape && x.shape.length < 2) throw new Error(`${label}: input ${x} needs rank >= 2`);
      for (const p of inputs.slice(1)) {
        const ps = p!.shape;
        if (ps && typeof c === "number" && (ps.length !== 1 || (typeof ps[0] === "number" && ps[0] !== c))) {
          throw new Error(`${label}: parameter ${p} does not match ${c} channels of input ${x}`);
        }
      }
      const stat = { dtype: x.dtype, shape: c === undefined ? null : [c] };
      return [{ dtype: x.dtype, shape: x.shape }, stat, stat];
    },
    grad: {
      kind: "vjp",
      vjp: ({ g, x, node, needs }, [dy, dRunMean, dRunVar]) => {
        const [xv, scale, , mean, varv] = x as Value[];
        const r = xv!.rank!;
        const axes = nonChannelAxes(r);
        const eps = node.attrs.epsilon ?? 1e-5;
        if (!node.attrs.training_mode) {
          // inference: y = (x - m) * s / sqrt(v + eps) + b  =>  dx = dy * s / sqrt(v + eps)
          const invStd = g.div(g.scalarLike(1, dy!), g.sqrt(g.addv(varv!, g.scalarLike(eps, dy!))));
          const k = perChannel(g, g.mul(scale!, invStd), r);
          const xhat = () => g.mul(g.sub(xv!, perChannel(g, mean!, r)), perChannel(g, invStd, r));
          return [
            needs[0] ? g.mul(dy!, k) : null,
            needs[1] ? g.reduceSum(g.mul(dy!, xhat()), axes, false) : null,
            needs[2] ? g.reduceSum(dy!, axes, false) : null,
          ];
        }
        // training: xhat = (x - mu)/sigma over the batch;  dx = s/sigma * (dy - mean(dy) - xhat * mean(dy * xhat))
        // plus the running statistics: out_mean = m*mean + (1-m)*mu, out_var = m*var + (1-m)*sigma^2
        const { xc, invStd, xhat } = stats(g, xv!, axes, eps);
        const keep = 1 - (node.attrs.momentum ?? 0.9);
        const viaStat = (d: Value | null) => (d ? perChannel(g, g.mul(d, g.scalarLike(keep, xv!)), r) : null);
        let dx: Value | null = null;
        if (needs[0]) {
          const parts = dy ? [throughXhat(g, g.mul(dy, perChannel(g, scale!, r)), xhat, invStd, axes)] : [];
          parts.push(...statOutputs(g, xv!, xc, axes, viaStat(dRunMean ?? null), viaStat(dRunVar ?? null)));
          dx = parts.length ? g.sum(parts) : null;
        }
        const dyXhat = dy ? g.mul(dy, xhat) : null;
        return [dx, needs[1] && dyXhat ? g.reduceSum(dyXhat, axes, false) : null, needs[2] && dy ? g.reduceSum(dy, axes, false) : null];
      },
    },
  },
  // y = xhat * scale + b, xhat normalized over axes [axis, rank); outputs Mean and InvStdDev keep those axes as 1s
  LayerNormalization: {
    attrs: { axis: "int", epsilon: "float", stash_type: "int" },
    arity: [2, 3],
    infer: ({ node, inputs }) => {
      const x = inputs[0]!;
      if (!x.shape)
        return [
          { dtype: x.dtype, shape: null },
          { dtype: x.dtype, shape: null },
          { dtype: x.dtype, shape: null },
        ];
      const a = normAxis(node.attrs.axis ?? -1, x.shape.length, opLabel("LayerNormalization", node.name));
      const stat: Dim[] = x.shape.map((d, i) => (i < a ? d : 1));
      return [
        { dtype: x.dtype, shape: x.shape },
        { dtype: x.dtype, shape: stat },
        { dtype: x.dtype, shape: stat },
      ];
    },
    // dx = invStd * (gy - mean(gy) - xhat mean(gy xhat)), gy = dy*scale;  dscale = dy*xhat;  db = dy (summed by the driver)
    // Mean: d/dx_i = 1/n;  InvStdDev r = (v + eps)^-1/2: d r/dx_i = -r^3 (x_i - mean)/n
    grad: {
      kind: "vjp",
      vjp: ({ g, x, node, needs }, [dy, dMean, dInv]) => {
        const xv = x[0]!;
        const label = opLabel("LayerNormalization", node.name);
        if (xv.rank === undefined) throw new Error(`grad: ${label}: the input's rank must be known`);
        const a = normAxis(node.attrs.axis ?? -1, xv.rank, label);
        const axes = Array.from({ length: xv.rank - a }, (_, i) => a + i);
        const { xc, invStd, xhat } = stats(g, xv, axes, node.attrs.epsilon ?? 1e-5);
        let dx: Value | null = null;
        if (needs[0]) {
          const parts = dy ? [throughXhat(g, g.mul(dy, x[1]!), xhat, invStd, axes)] : [];
          const dVar = dInv ? g.mul(dInv, g.mul(g.scalarLike(-0.5, xv), g.mul(invStd, g.mul(invStd, invStd)))) : null;
          parts.push(...statOutputs(g, xv, xc, axes, dMean ?? null, dVar));
          dx = parts.length ? g.sum(parts) : null;
        }
        return [dx, needs[1] && dy ? g.mul(dy, xhat) : null, needs[2] && dy ? dy : null];
      },
    },
  },
  // y = scale * (x - mean) / sqrt(var + eps) + b, statistics per sample and channel over the spatial axes
  InstanceNormalization: {
    attrs: { epsilon: "float" },
    arity: [3, 3],
    infer: ({ node, inputs }) => {
      const x = inputs[0]!;
      if (x.shape && x.shape.length < 3) throw new Error(`${opLabel("InstanceNormalization", node.name)}: input ${x} needs rank >= 3`);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    // dx = scale * invStd * (dy - mean(dy) - xhat mean(dy xhat)) over spatial axes;  dscale = Σ dy xhat;  db = Σ dy
    grad: {
      kind: "vjp",
      vjp: ({ g, x, node, needs }, [dy]) => {
        const xv = x[0]!;
        if (xv.rank === undefined) throw new Error(`grad: ${opLabel("InstanceNormalization", node.name)}: the input's rank must be known`);
        const r = xv.rank,
          axes = spatialAxes(r);
        const { invStd, xhat } = stats(g, xv, axes, node.attrs.epsilon ?? 1e-5);
        return [
          needs[0] ? throughXhat(g, g.mul(dy!, perChannel(g, x[1]!, r)), xhat, invStd, axes) : null,
          needs[1] ? g.reduceSum(g.mul(dy!, xhat), nonChannelAxes(r), false) : null,
          needs[2] ? g.reduceSum(dy!, nonChannelAxes(r), false) : null,
        ];
      },
    },
  },
};
