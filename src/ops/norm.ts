// BatchNormalization: inference mode (a per-channel affine map) and training mode (batch statistics).
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";
import type { OpTable } from "./types.js";
import { opLabel } from "./util.js";

/** A [C] vector reshaped to broadcast over NC... of rank r. */
const perChannel = (g: Builder, v: Value, rank: number): Value => g.reshape(v, [1, -1, ...Array(rank - 2).fill(1)]);
const nonChannelAxes = (rank: number) => [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];

export const normOps: OpTable<"BatchNormalization"> = {
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
      vjp: ({ g, x, node, needs }, [dy]) => {
        const [xv, scale, , mean, varv] = x as Value[];
        const r = xv!.rank!;
        const axes = nonChannelAxes(r);
        const eps = g.scalarLike(node.attrs.epsilon ?? 1e-5, dy!);
        if (!node.attrs.training_mode) {
          // inference: y = (x - m) * s / sqrt(v + eps) + b  =>  dx = dy * s / sqrt(v + eps)
          const invStd = g.div(g.scalarLike(1, dy!), g.sqrt(g.addv(varv!, eps)));
          const k = perChannel(g, g.mul(scale!, invStd), r);
          const xhat = () => g.mul(g.sub(xv!, perChannel(g, mean!, r)), perChannel(g, invStd, r));
          return [
            needs[0] ? g.mul(dy!, k) : null,
            needs[1] ? g.reduceSum(g.mul(dy!, xhat()), axes, false) : null,
            needs[2] ? g.reduceSum(dy!, axes, false) : null,
          ];
        }
        // training: xhat = (x - mu)/sigma over the batch;  dx = s/sigma * (dy - mean(dy) - xhat * mean(dy * xhat))
        const mu = g.reduceMean(xv!, axes, true);
        const xc = g.sub(xv!, mu);
        const invStd = g.div(g.scalarLike(1, dy!), g.sqrt(g.addv(g.reduceMean(g.mul(xc, xc), axes, true), eps)));
        const xhat = g.mul(xc, invStd);
        const dyXhat = g.mul(dy!, xhat);
        const dx = !needs[0]
          ? null
          : g.mul(
              g.mul(perChannel(g, scale!, r), invStd),
              g.sub(g.sub(dy!, g.reduceMean(dy!, axes, true)), g.mul(xhat, g.reduceMean(dyXhat, axes, true))),
            );
        return [dx, needs[1] ? g.reduceSum(dyXhat, axes, false) : null, needs[2] ? g.reduceSum(dy!, axes, false) : null];
      },
    },
  },
};
