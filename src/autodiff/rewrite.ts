// Exact forward rewrites that make the gradient graph cheaper, applied to grad()'s own copy of the graph.
import { Builder } from "../builder/builder.js";
import type { Graph, Node, Value } from "../ir/graph.js";

/**
 * Relu → MaxPool becomes MaxPool → Relu where the Relu's output feeds that pool alone: max commutes with a monotone
 * function, and the routed gradient is the same (a window whose maximum is ≤ 0 gets none either way), while the ReLU
 * and its backward mask run on the pooled tensor (4× smaller for 2×2 pools). Values in `keep` and nodes in
 * `keepNodes` are left alone. Returns how many pairs were swapped.
 */
export function poolBeforeRelu(graph: Graph, keep: ReadonlySet<Value>, keepNodes: ReadonlySet<Node>): number {
  const users = graph.consumers();
  const outputs = new Set(graph.outputs);
  let swapped = 0;
  for (const relu of graph.nodes.slice()) {
    if (relu.op !== "Relu" || keepNodes.has(relu)) continue;
    const r = relu.outputs[0]!;
    const only = users.get(r);
    if (only?.length !== 1 || outputs.has(r) || keep.has(r)) continue;
    const pool = only[0]! as Node<"MaxPool">;
    // ceil mode can leave a window with no real element (−inf, which Relu would turn to 0)
    if (pool.op !== "MaxPool" || keepNodes.has(pool) || pool.outputs.length !== 1 || pool.attrs.ceil_mode) continue;
    const p = pool.outputs[0]!;
    const a = relu.inputs[0]!;
    const pre = graph.newValue(`${p.name}_prerelu`, p.dtype, p.shape, "node");
    pool.inputs = [a, ...pool.inputs.slice(1)];
    pool.outputs = [pre];
    pre.producer = pool;
    relu.inputs = [pre];
    relu.outputs = [p];
    p.producer = relu;
    graph.nodes.splice(graph.nodes.indexOf(relu), 1);
    graph.nodes.splice(graph.nodes.indexOf(pool) + 1, 0, relu);
    users.set(pre, [relu]);
    users.set(
      a,
      (users.get(a) ?? []).map((n) => (n === relu ? pool : n)),
    );
    swapped++;
  }
  return swapped;
}

/**
 * Conv → inference BatchNormalization becomes one Conv on W·s with bias (b − μ)·s + β, s = γ/√(σ² + ε): the BN's
 * forward and backward passes over the activations disappear, and the new weights are weight-only work (folded for
 * constants, computed once per weights for stable inputs). Not where a weight depends on a `keep` value (the wrt set).
 * Returns how many pairs were folded.
 */
export function foldBatchNorm(graph: Graph, keep: ReadonlySet<Value>, keepNodes: ReadonlySet<Node>): number {
  // weights differentiated (or computed from what is) keep their Conv and BN: a folded constant would carry no gradient
  const live = new Set(keep);
  for (const n of graph.nodes) if (n.inputs.some((v) => v && live.has(v))) n.outputs.forEach((v) => live.add(v));
  const users = graph.consumers();
  const outputs = new Set(graph.outputs);
  let folded = 0;
  for (const bn of graph.nodes.slice()) {
    if (bn.op !== "BatchNormalization" || keepNodes.has(bn) || bn.outputs.length !== 1) continue;
    const attrs = bn.attrs as { epsilon?: number; training_mode?: number };
    const [y, gamma, beta, mean, variance] = bn.inputs as (Value | null)[];
    const conv = y?.producer as Node<"Conv"> | undefined;
    if (attrs.training_mode || !y || !gamma || !beta || !mean || !variance || conv?.op !== "Conv" || keepNodes.has(conv)) continue;
    if (users.get(y)?.length !== 1 || outputs.has(y) || keep.has(y)) continue;
    const w = conv.inputs[1]!;
    if ([w, conv.inputs[2], gamma, beta, mean, variance].some((v) => v && live.has(v))) continue;
    const o = w.shape?.[0];
    if (typeof o !== "number" || !w.rank || [gamma, beta, mean, variance].some((v) => v.staticShape?.join() !== `${o}`)) continue;
    const g = new Builder(graph);
    const start = graph.nodes.length;
    const s = g.div(gamma, g.sqrt(g.addv(variance, g.scalarLike(attrs.epsilon ?? 1e-5, variance))));
    const w2 = g.mul(w, g.reshape(s, [o, ...new Array<number>(w.rank - 1).fill(1)]));
    const b = conv.inputs[2];
    const b2 = g.addv(g.mul(b ? g.sub(b, mean) : g.neg(mean), s), beta);
    // the weight nodes and the Conv take the BN's place, where x and every BN operand exist (the Conv fed only the BN)
    const made = graph.nodes.splice(start);
    graph.nodes.splice(graph.nodes.indexOf(conv), 1);
    graph.nodes.splice(graph.nodes.indexOf(bn), 1, ...made, conv);
    conv.inputs = [conv.inputs[0]!, w2, b2];
    const out = bn.outputs[0]!;
    conv.outputs = [out];
    out.producer = conv;
    folded++;
  }
  return folded;
}
