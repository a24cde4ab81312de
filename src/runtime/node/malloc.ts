// glibc's mmap threshold for ResNet-scale models: the native addon (native/malloc.c, built by `npm run build`) fixes it once a
// large model is compiled, so ORT's multi-MB tensors are mapped and returned when freed instead of staying in the heap.
import { createRequire } from "node:module";
import type { Graph } from "../../ir/graph.js";
import { isFloatDType, sizeOf } from "../../ir/tensor.js";

interface MallocAddon {
  setMmapThreshold(bytes: number): boolean;
  trim(): boolean;
}

/**
 * When and how: from 16 MiB of weights (CIFAR ResNet-18 45 MB: PGD step peak RSS 625 → 496 MB, same speed), mapped from
 * 1 MiB. Not for small models (the 1.7 MB Fashion-MNIST CNN's PGD-10 runs 1.3× slower: its runs are short enough that
 * faulting freshly mapped tensors in shows). bench/README.md, "Memory, 2026-12-03".
 */
export const MALLOC_RULE = { minWeightBytes: 16 << 20, mmapThreshold: 1 << 20 } as const;

let addon: MallocAddon | null | undefined;
let state: "default" | "fixed" | "user" | "unavailable" | undefined;

function loadAddon(): MallocAddon | null {
  if (addon === undefined) {
    try {
      // dist/src/runtime/node/malloc.js → dist/native/malloc.node
      addon = createRequire(import.meta.url)("../../../native/malloc.node") as MallocAddon;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/** Bytes of float initializers and fully static float inputs (the weights, fed or constant, and one batch). */
export function weightBytes(graph: Graph): number {
  let n = 0;
  for (const v of [...graph.initializers, ...graph.inputs]) {
    const s = v.staticShape;
    if (s && isFloatDType(v.dtype)) n += sizeOf(s) * (v.dtype === "float64" ? 8 : 4);
  }
  return n;
}

/** Whether the addon can be loaded here (Linux with glibc, built). */
export const mallocAddonAvailable = (): boolean => loadAddon() !== null;

/**
 * Called before compiling `graph`: fixes the mmap threshold (process-wide, once) when the graph's weights reach the rule's
 * size. Left alone where the user tuned glibc's malloc (MALLOC_* variables, GLIBC_TUNABLES) or ROBUSTLENS_MALLOC=default. Returns the state.
 */
export function tuneMallocFor(graph: Graph, env: NodeJS.ProcessEnv = process.env): typeof state {
  if (state === "fixed" || state === "user") return state;
  if (env.ROBUSTLENS_MALLOC === "default") return (state = "default");
  const tuned = Object.entries(env).some(([k, v]) => k.startsWith("MALLOC_") || (k === "GLIBC_TUNABLES" && !!v?.includes("glibc.malloc.")));
  if (tuned) return (state = "user");
  if (weightBytes(graph) < MALLOC_RULE.minWeightBytes) return state;
  const a = loadAddon();
  if (!a) return (state = "unavailable");
  // from here glibc no longer raises the threshold when large chunks are freed
  state = a.setMmapThreshold(MALLOC_RULE.mmapThreshold) ? "fixed" : "unavailable";
  // what the heap already holds from before (decoded weights, earlier sessions) goes back too
  a.trim();
  return state;
}
