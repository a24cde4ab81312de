// Conv → inference BatchNormalization folded into one Conv: used by grad() and by executors whose Convs ORT cannot fuse.
import { Builder } from "./builder.js";
import type { Graph, Node, Value } from "../ir/graph.js";

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
