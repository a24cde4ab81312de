// The runtime boundary: graphs go down as ONNX bytes, tensors come back up. Browser-safe interface only.
import type { Graph } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { type BackendProfile, CPU_PROFILE } from "../ops/profile.js";

export interface CompileOptions {
  /** Threads for one op; default: all cores. */
  intraOpThreads?: number;
  /**
   * Inputs fed the same tensor objects over many runs (a model's weights during an attack). A backend may compute what
   * depends on them alone once per new tensors and reuse it while the same objects come back, so a stable input's tensor
   * must not be changed in place between runs.
   */
  stableInputs?: readonly string[];
}

export interface Program {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the program; fetches all outputs unless `fetch` names some. */
  run(feeds: Readonly<Record<string, Tensor>>, fetch?: readonly string[]): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
  /** Lets go of results kept for `stableInputs` (the next run recomputes them), e.g. before the weights change anyway; resolves once their memory is free. */
  dropStable?(): void | Promise<void>;
}

export interface Executor {
  /** What the backend runs; graph builders choose formulations by it (default: the CPU profile). */
  readonly profile?: BackendProfile;
  compile(graph: Graph, options?: CompileOptions): Promise<Program>;
}

/** The profile graphs for `exec` must fit. */
export const profileOf = (exec: Executor): BackendProfile => exec.profile ?? CPU_PROFILE;
