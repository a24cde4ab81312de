// Fitting a graph to a backend before it is compiled: rewrite refused nodes where a rewrite exists, then refuse what is left.
import { Builder } from "../builder/builder.js";
import type { Graph, Node, Value } from "../ir/graph.js";
import type { OpType } from "../ops/attrs.js";
import { LOWERINGS, type Lowering } from "../ops/lower.js";
import { type BackendProfile, type WinogradRule, unsupported } from "../ops/profile.js";
import { winogradConv, winogradEligible } from "../ops/winograd.js";

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

/** Whether the profile's Winograd rule takes this Conv: 3×3 stride 1 pad 1, and at least the channels, at most the pixels. */
export function takesWinograd(rule: WinogradRule | undefined, n: Node): boolean {
  if (!rule || !winogradEligible(n)) return false;
  const [, c, h, w] = n.inputs[0]!.shape! as number[];
  const k = n.inputs[1]!.staticShape![0]!;
  return Math.min(c!, k) >= rule.minChannels && h! * w! <= rule.maxPixels;
}

/** The rewrite of a node for the backend: its lowering when the profile refuses it, Winograd where the profile prefers it. */
function rewriteOf(profile: BackendProfile, node: Node): Lowering<OpType> | undefined {
  if (unsupported(profile, node) !== undefined) return LOWERINGS[node.op] as Lowering<OpType> | undefined;
  // with NCHWc, training-mode BN as reductions and elementwise ops, which run on the blocked layout (runtime/nchwc.ts)
  if (profile.nchwcBlock && node.op === "BatchNormalization" && (node.attrs as { training_mode?: number }).training_mode) {
    const c = node.inputs[0]!.shape?.[1];
    if (node.inputs[0]!.rank === 4 && typeof c === "number" && c % profile.nchwcBlock === 0)
      return LOWERINGS.BatchNormalization as Lowering<OpType>;
  }
  const rule = profile.winograd;
  if (rule && takesWinograd(rule, node)) return (g, n) => [winogradConv(g, n.inputs[0]!, n.inputs[1]!, n.inputs[2] ?? null, rule.tile)];
  return undefined;
}

/**
 * The graph rewritten for the backend: each node the profile refuses is replaced by its lowering (ops/lower.ts), and each
 * Conv its Winograd rule takes by the Winograd form (ops/winograd.ts), keeping output values and names; then the whole
 * graph is validated. Returns `graph` itself when nothing needs rewriting.
 */
export function fitGraph(graph: Graph, profile: BackendProfile): Graph {
  if (!graph.nodes.some((n) => rewriteOf(profile, n))) {
    validateGraph(graph, profile);
    return graph;
  }
  const out = graph.clone().graph;
  const g = new Builder(out);
  const original = out.nodes;
  out.nodes = [];
  for (const node of original) {
    const lower = rewriteOf(profile, node);
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
