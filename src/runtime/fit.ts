// Fitting a graph to a backend before it is compiled: rewrite refused nodes where a rewrite exists, then refuse what is left.
import { Builder } from "../builder/builder.js";
import type { Graph, Node, Value } from "../ir/graph.js";
import type { OpType } from "../ops/attrs.js";
import { LOWERINGS, type Lowering } from "../ops/lower.js";
import { type BackendProfile, unsupported } from "../ops/profile.js";

/** Throws naming the first node the backend cannot run (and how many others), e.g. `webgpu: op MaxUnpool (node "m") has no kernel ...`. */
export function validateGraph(graph: Graph, profile: BackendProfile): void {
  const bad: { node: Node; why: string }[] = [];
  for (const node of graph.nodes) {
    const why = unsupported(profile, node);
    if (why !== undefined) bad.push({ node, why });
  }
  if (bad.length === 0) return;
  const { node, why } = bad[0]!;
  const others = [...new Set(bad.slice(1).map((b) => b.node.op))];
  const more = bad.length > 1 ? `; ${bad.length - 1} more node(s) cannot run either (${others.join(", ")})` : "";
  throw new Error(`${profile.name}: op ${node.op} (node "${node.name}") ${why}, in graph "${graph.name}"${more}`);
}

/** Replaces `old` by `now` as an input of the given nodes. */
function substitute(nodes: readonly Node[], old: Value, now: Value): void {
  for (const n of nodes) n.inputs = n.inputs.map((v) => (v === old ? now : v));
}

/**
 * The graph rewritten for the backend: each node the profile refuses is replaced by its lowering (ops/lower.ts), keeping
 * its output values and names; then the whole graph is validated. Returns `graph` itself when nothing needs rewriting.
 */
export function fitGraph(graph: Graph, profile: BackendProfile): Graph {
  if (!graph.nodes.some((n) => unsupported(profile, n) !== undefined && LOWERINGS[n.op])) {
    validateGraph(graph, profile);
    return graph;
  }
  const out = graph.clone().graph;
  const g = new Builder(out);
  const original = out.nodes;
  out.nodes = [];
  for (const node of original) {
    const lower = unsupported(profile, node) !== undefined ? (LOWERINGS[node.op] as Lowering<OpType> | undefined) : undefined;
    if (!lower) {
      out.nodes.push(node);
      continue;
    }
    const start = out.nodes.length;
    const repl = lower(g, node as Node<OpType>);
    if (repl.length !== node.outputs.length)
      throw new Error(`internal: lowering of ${node.op} "${node.name}" gave ${repl.length} outputs for ${node.outputs.length}`);
    node.outputs.forEach((o, i) => {
      // the node computing the replacement now writes the original value, so consumers and graph outputs keep their names
      let r = repl[i]!;
      if (!r.producer || !out.nodes.slice(start).includes(r.producer)) r = g.identity(r);
      const p = r.producer!;
      p.outputs = p.outputs.map((v) => (v === r ? o : v));
      o.producer = p;
      substitute(out.nodes.slice(start), r, o);
    });
  }
  validateGraph(out, profile);
  return out;
}
