// The runtime boundary: graphs go down as ONNX bytes, tensors come back up. Browser-safe interface only.
import type { Graph } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";

export interface CompileOptions {
  /** Threads for one op; default: all cores. */
  intraOpThreads?: number;
}

export interface Program {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the program; fetches all outputs unless `fetch` names some. */
  run(feeds: Readonly<Record<string, Tensor>>, fetch?: readonly string[]): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
}

export interface Executor {
  compile(graph: Graph, options?: CompileOptions): Promise<Program>;
}
