// What the onnxruntime executors (node, web) share: feed checks and the session options every graph needs.
import type { Graph } from "../ir/graph.js";
import { type Tensor, formatShape, sizeOf } from "../ir/tensor.js";

/** Returns the feeds of the graph's inputs in input order, or throws naming the input, dtype and shapes. */
export function checkFeeds(graph: Graph, feeds: Readonly<Record<string, Tensor>>): [string, Tensor][] {
  return graph.inputs.map((v) => {
    const t = feeds[v.name];
    if (!t) throw new Error(`missing input "${v.name}" ${v.dtype}${formatShape(v.shape)}`);
    if (t.dtype !== v.dtype) throw new Error(`input "${v.name}": expected ${v.dtype}, got ${t.dtype}`);
    const want = v.shape;
    if (want && (want.length !== t.shape.length || want.some((d, i) => typeof d === "number" && d !== t.shape[i]))) {
      throw new Error(`input "${v.name}": expected shape ${formatShape(want)}, got ${formatShape(t.shape)}`);
    }
    if (sizeOf(t.shape) !== t.data.length) throw new Error(`input "${v.name}": ${t.data.length} values for shape ${formatShape(t.shape)}`);
    return [v.name, t];
  });
}

/** Graph optimization level and the session config entries our graphs need, in onnxruntime's option shape. */
export const ORT_SESSION_OPTIONS = {
  graphOptimizationLevel: "all",
  // Pad_Fusion merges constant Pads into pools unchecked (pads >= kernel fail; a zero Pad before MaxPool becomes -inf padding);
  // ConstantSharing merges equal initializers that training-mode BatchNormalization then overwrites
  // force_spinning_stop: a session's idle threads stop spinning when its run ends, so loops alternating programs
  // (attack step, evaluation, train step) do not compete with the previous session's spinning threads for the cores
  extra: { optimization: { disable_specified_optimizers: "Pad_Fusion;ConstantSharing" }, session: { force_spinning_stop: "1" } },
} as const;
