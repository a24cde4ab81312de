// Random-direction gradient check: <grad, v> against a central difference of the loss along v, run on ORT.
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor, isFloatDType, numberAt, tensor } from "../ir/tensor.js";
import { NodeExecutor, nodeExecutor } from "../runtime/node.js";
import type { BackendProfile } from "../ops/profile.js";
import { Rng } from "../util/rng.js";

export interface GradCheckCase {
  /** Graph inputs by name; float ones are differentiated unless listed in `fixed`. */
  inputs: Record<string, Tensor>;
  fixed?: readonly string[];
  /** Builds the checked function's output from the graph inputs. */
  build(g: Builder, x: Record<string, Value>): Value;
  /** Marks nodes to pass gradients straight through (by output name). */
  straightThrough?: readonly string[];
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  /** Build (and fit) the gradient graph for this backend profile, run on ORT CPU (default: the CPU profile). */
  profile?: BackendProfile;
}

export interface GradCheckResult {
  input: string;
  analytic: number;
  numeric: number;
  relErr: number;
}

const dot = (a: Tensor, b: Tensor): number => {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += numberAt(a, i) * numberAt(b, i);
  return s;
};
const axpy = (x: Tensor, v: Tensor, e: number): Tensor =>
  tensor(
    x.dtype,
    x.shape,
    Array.from({ length: x.data.length }, (_, i) => numberAt(x, i) + e * numberAt(v, i)),
  );

/** Checks d/dx <u, f(x)> for each differentiated input along a random direction; throws naming the input on mismatch. */
export async function checkGradient(c: GradCheckCase): Promise<GradCheckResult[]> {
  const rng = new Rng(c.seed ?? 1234);
  const graph = new Graph();
  const g = new Builder(graph);
  const xs: Record<string, Value> = {};
  for (const [k, t] of Object.entries(c.inputs)) xs[k] = graph.addInput(k, t.dtype, [...t.shape]);
  const y = c.build(g, xs);
  const ys = y.staticShape;
  if (!ys) throw new Error(`gradcheck: output shape must be static, got ${y}`);
  const u = tensor(
    y.dtype,
    ys,
    Array.from({ length: ys.reduce((a, b) => a * b, 1) }, () => rng.normal()),
  );
  const loss = g.reduceSum(g.mul(y, g.constant(u, "u")), [], false);
  graph.outputs = [loss];
  const wrt = Object.keys(c.inputs).filter((k) => isFloatDType(c.inputs[k]!.dtype) && !(c.fixed ?? []).includes(k));
  const results = await directionalDerivatives({ ...c, graph, loss, wrt, rng });
  for (const r of results) {
    const rtol = c.rtol ?? (c.inputs[r.input]!.dtype === "float64" ? 1e-6 : 2e-2);
    if (!(r.relErr <= rtol))
      throw new Error(
        `gradcheck: input "${r.input}": analytic ${r.analytic} vs numeric ${r.numeric} (rel err ${r.relErr.toExponential(2)} > ${rtol})`,
      );
  }
  return results;
}

export interface DirectionalCase {
  /** A graph whose only output is the scalar `loss`. */
  graph: Graph;
  loss: Value;
  inputs: Record<string, Tensor>;
  /** Graph inputs to differentiate (float). */
  wrt: readonly string[];
  rng: Rng;
  straightThrough?: readonly string[];
  eps?: number;
  atol?: number;
  profile?: BackendProfile;
}

export interface DirectionalResult extends GradCheckResult {
  /** One-sided differences (L(x+εv) − L(x))/ε and (L(x) − L(x−εv))/ε: far apart where a kink lies within ε. */
  forward: number;
  backward: number;
  /** L(x) itself. */
  centre: number;
  eps: number;
}

/** <grad L, v> from reverse mode and from central differences, for each `wrt` input along a random direction v. */
export async function directionalDerivatives(c: DirectionalCase): Promise<DirectionalResult[]> {
  const gr = grad(c.graph, { loss: c.loss, wrt: c.wrt, straightThrough: c.straightThrough, keepOutputs: false, profile: c.profile });
  const exec = c.profile ? new NodeExecutor({ profile: c.profile }) : nodeExecutor;
  const prog = await exec.compile(gr.graph);
  try {
    const fwd = await exec.compile(c.graph);
    try {
      const lossAt = async (feeds: Record<string, Tensor>) => numberAt((await fwd.run(feeds))[c.loss.name]!, 0);
      const out = await prog.run(c.inputs);
      const centre = await lossAt(c.inputs);
      const results: DirectionalResult[] = [];
      for (let j = 0; j < c.wrt.length; j++) {
        const k = c.wrt[j]!;
        const x = c.inputs[k]!;
        const v = tensor(
          x.dtype,
          x.shape,
          Array.from({ length: x.data.length }, () => c.rng.normal()),
        );
        const eps = c.eps ?? (x.dtype === "float64" ? 1e-6 : 1e-2);
        const analytic = dot(out[gr.grads[j]!.name]!, v);
        const plus = await lossAt({ ...c.inputs, [k]: axpy(x, v, eps) });
        const minus = await lossAt({ ...c.inputs, [k]: axpy(x, v, -eps) });
        const numeric = (plus - minus) / (2 * eps);
        const relErr = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), c.atol ?? 1e-6);
        results.push({
          input: k,
          analytic,
          numeric,
          relErr,
          forward: (plus - centre) / eps,
          backward: (centre - minus) / eps,
          centre,
          eps,
        });
      }
      return results;
    } finally {
      await fwd.dispose();
    }
  } finally {
    await prog.dispose();
  }
}

/** Uniform values in [lo, hi) kept at least `gap` away from each of `avoid` (kinks) — for inputs off kinks and ties. */
export function randomTensor(
  dtype: "float32" | "float64",
  shape: readonly number[],
  opts: { lo?: number; hi?: number; avoid?: readonly number[]; gap?: number; seed?: number } = {},
): Tensor {
  const rng = new Rng(opts.seed ?? 7);
  const lo = opts.lo ?? -1,
    hi = opts.hi ?? 1,
    gap = opts.gap ?? 0.05;
  const n = shape.reduce((a, b) => a * b, 1);
  const vals: number[] = [];
  while (vals.length < n) {
    const v = rng.uniform(lo, hi);
    if ((opts.avoid ?? []).every((a) => Math.abs(v - a) >= gap)) vals.push(v);
  }
  return tensor(dtype, shape, vals);
}

/** Distinct values (a shuffled ramp with jitter) so max-pool and max-reduce windows have no ties. */
export function distinctTensor(dtype: "float32" | "float64", shape: readonly number[], seed = 11): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => (i / n) * 2 - 1);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [vals[i], vals[j]] = [vals[j]!, vals[i]!];
  }
  return tensor(dtype, shape, vals);
}
