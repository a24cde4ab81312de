// Reverse-mode driver: walks the graph backwards, calls one VJP rule per node, accumulates fan-out and un-broadcasts.
import { Builder } from "../builder/builder.js";
import type { Graph, Node, Value } from "../ir/graph.js";
import { formatShape, isFloatDType, tensor } from "../ir/tensor.js";
import type { OpType } from "../ops/attrs.js";
import { OPS } from "../ops/index.js";
import type { GradRule } from "../ops/types.js";
import { type BackendProfile, CPU_PROFILE, dnnlFor } from "../ops/profile.js";
import { foldBatchNorm, poolBeforeRelu } from "./rewrite.js";

export interface GradOptions {
  /** A scalar value (shape [] or all ones) to differentiate. */
  loss: Value | string;
  /** Inputs, initializers or intermediate values to differentiate with respect to. */
  wrt: readonly (Value | string)[];
  /** Nodes (or names of their first output) whose gradient passes straight through to input 0 ("fake ReLU"). */
  straightThrough?: readonly (Node | string)[];
  /** Keep the graph's existing outputs before loss and gradients (default true). */
  keepOutputs?: boolean;
  /** Backend the gradient graph will run on; VJP rules pick formulations it supports (default: CPU). */
  profile?: BackendProfile;
}

export interface GradResult {
  graph: Graph;
  loss: Value;
  /** Gradient of the loss for each `wrt` entry, in order; also the graph's last outputs. */
  grads: Value[];
}

const IDENTITY: GradRule<OpType> = { kind: "vjp", vjp: (_c, dy) => [dy[0] ?? null] };

/** Returns a new graph that also outputs the loss and d loss / d wrt. The input graph is not changed. */
export function grad(source: Graph, options: GradOptions): GradResult {
  const { graph, map } = source.clone();
  const byName = graph.valuesByName();
  const resolve = (v: Value | string, what: string): Value => {
    const r = typeof v === "string" ? byName.get(v) : map.get(v);
    if (!r) throw new Error(`grad: ${what} ${typeof v === "string" ? `"${v}"` : `"${v.name}"`} is not a value of graph "${source.name}"`);
    return r;
  };
  const loss = resolve(options.loss, "loss");
  if (!isFloatDType(loss.dtype)) throw new Error(`grad: loss "${loss.name}" is ${loss.dtype}, not a float`);
  const ls = loss.staticShape;
  if (!ls || ls.some((d) => d !== 1)) throw new Error(`grad: loss "${loss.name}" must be a scalar, has shape ${formatShape(loss.shape)}`);
  const wrt = options.wrt.map((v) => resolve(v, "wrt value"));
  for (const v of wrt)
    if (!isFloatDType(v.dtype)) throw new Error(`grad: cannot differentiate with respect to ${v.dtype} value "${v.name}"`);
  const straight = new Set<Node>();
  for (const s of options.straightThrough ?? []) {
    const name = typeof s === "string" ? s : s.name;
    const n = graph.nodes.find((m) => m.name === name) ?? byName.get(name)?.producer;
    if (!n) throw new Error(`grad: straight-through node "${name}" not found`);
    straight.add(n);
  }

  const kept = new Set([loss, ...wrt]);
  foldBatchNorm(graph, kept, straight);
  poolBeforeRelu(graph, kept, straight);
  // values that depend on some wrt value (only they carry gradient)
  const live = new Set<Value>(wrt);
  for (const n of graph.nodes) if (n.inputs.some((v) => v && live.has(v))) n.outputs.forEach((o) => live.add(o));
  if (!live.has(loss)) throw new Error(`grad: loss "${loss.name}" does not depend on ${wrt.map((v) => `"${v.name}"`).join(", ")}`);

  // oneDNN's formulations only for graphs its rule takes (the executor compiles the gradient graph by the same rule)
  const profile = dnnlFor(graph, options.profile ?? CPU_PROFILE);
  const g = new Builder(graph);
  const parts = new Map<Value, Value[]>();
  const total = new Map<Value, Value>();
  const contribute = (v: Value, d: Value) => {
    const l = parts.get(v);
    if (l) l.push(d);
    else parts.set(v, [d]);
  };
  const gradOf = (v: Value): Value | null => {
    const done = total.get(v);
    if (done) return done;
    const l = parts.get(v);
    if (!l) return null;
    const s = g.sum(l);
    total.set(v, s);
    return s;
  };
  contribute(loss, g.constant(tensor(loss.dtype, ls, new Array(ls.length ? ls.reduce((a, b) => a * b, 1) : 1).fill(1)), "loss_seed"));

  const forward = graph.nodes.slice();
  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k]!;
    if (!node.outputs.some((o) => parts.has(o))) continue;
    const stop = OPS[node.op].stopGradient ?? [];
    const needs = node.inputs.map((v, i) => !!v && live.has(v) && isFloatDType(v.dtype) && !stop.includes(i));
    if (!needs.some(Boolean)) continue;
    const rule = (straight.has(node) ? IDENTITY : OPS[node.op].grad) as GradRule<OpType>;
    if (rule.kind === "none") continue;
    if (rule.kind === "error") throw new Error(`grad: cannot differentiate ${node.op} "${node.name}": ${rule.why}`);
    const dys = node.outputs.map(gradOf);
    const dxs = rule.vjp({ g, node, x: node.inputs, y: node.outputs, needs, profile }, dys);
    node.inputs.forEach((x, i) => {
      const d = dxs[i];
      if (x && needs[i] && d) contribute(x, unbroadcast(g, d, x));
    });
  }

  const grads = wrt.map((v) => {
    const d = gradOf(v);
    return g.identity(d ?? g.zerosLike(v), `${v.name}_grad`);
  });
  const keep = options.keepOutputs ?? true;
  graph.outputs = [...(keep ? graph.outputs.filter((o) => o !== loss) : []), loss, ...grads];
  graph.prune();
  return { graph, loss, grads };
}

/** Sums a gradient over the axes along which x was broadcast, then restores x's rank. */
export function unbroadcast(g: Builder, d: Value, x: Value): Value {
  const ds = d.shape,
    xs = x.shape;
  if (!ds || !xs) return d;
  const lead = ds.length - xs.length;
  if (lead < 0) throw new Error(`internal: gradient ${formatShape(ds)} has lower rank than "${x.name}" ${formatShape(xs)}`);
  const axes: number[] = [];
  for (let i = 0; i < ds.length; i++) if (i < lead || (xs[i - lead] === 1 && ds[i] !== 1)) axes.push(i);
  if (axes.length === 0) return lead === 0 ? d : g.reshape(d, g.shapeOf(x));
  const r = g.reduceSum(d, axes, true);
  return lead === 0 ? r : g.reshape(r, g.shapeOf(x));
}
