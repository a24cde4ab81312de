// Exact forward rewrites that make the gradient graph cheaper, applied to grad()'s own copy of the graph.
import type { Graph, Node, Value } from "../ir/graph.js";

// Conv → inference BatchNormalization folding lives with the builder: the oneDNN executor applies it too
export { foldBatchNorm } from "../builder/fold-bn.js";

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
