// Comparing two backends' results in tests: one compile-run-dispose on a profile, and the largest difference relative to
// the largest magnitude (floor 1e-6).
import assert from "node:assert/strict";
import type { Graph } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import type { BackendProfile } from "../ops/profile.js";
import { NodeExecutor } from "../runtime/node.js";

/** The graph's outputs on a NodeExecutor with `profile` (its program disposed after the run). */
export async function runOnProfile(profile: BackendProfile, graph: Graph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const prog = await new NodeExecutor({ profile }).compile(graph);
  try {
    return await prog.run(feeds);
  } finally {
    await prog.dispose();
  }
}

/** max |a − b| / max(|a|, 1e-6), over same-shaped tensors. */
export function maxRelDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  let d = 0,
    m = 1e-6;
  for (let i = 0; i < a.data.length; i++) {
    d = Math.max(d, Math.abs(Number(a.data[i]) - Number(b.data[i])));
    m = Math.max(m, Math.abs(Number(a.data[i])));
  }
  return d / m;
}
