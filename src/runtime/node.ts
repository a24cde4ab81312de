// Executor on onnxruntime-node: sessions built from in-memory ONNX bytes, one per graph, cached by the caller.
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import type { Graph } from "../ir/graph.js";
import { toOnnxBytes } from "../builder/onnx-export.js";
import { type DType, type Tensor, tensor } from "../ir/tensor.js";
import type { CompileOptions, Executor, Program } from "./executor.js";
import { ORT_SESSION_OPTIONS, checkFeeds } from "./ort-common.js";

const ORT_TYPE: Record<DType, ort.Tensor.Type> = { float32: "float32", float64: "float64", int64: "int64", int32: "int32", uint8: "uint8", bool: "bool" };

function fromOrt(t: ort.Tensor, name: string): Tensor {
  const dtype = (Object.keys(ORT_TYPE) as DType[]).find((d) => ORT_TYPE[d] === t.type);
  if (!dtype) throw new Error(`output "${name}": unsupported element type ${t.type}`);
  const data = dtype === "bool" ? new Uint8Array(t.data as unknown as ArrayLike<number>) : t.data;
  return tensor(dtype, [...t.dims], data as Tensor["data"]);
}

class OrtProgram implements Program {
  constructor(private readonly session: ort.InferenceSession, private readonly graph: Graph) {}
  get inputNames(): readonly string[] { return this.session.inputNames; }
  get outputNames(): readonly string[] { return this.session.outputNames; }

  async run(feeds: Readonly<Record<string, Tensor>>, fetch?: readonly string[]): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of checkFeeds(this.graph, feeds)) ortFeeds[name] = new ort.Tensor(ORT_TYPE[t.dtype], t.data as never, [...t.shape]);
    const res = fetch ? await this.session.run(ortFeeds, [...fetch]) : await this.session.run(ortFeeds);
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(res)) out[k] = fromOrt(t, k);
    return out;
  }

  async dispose(): Promise<void> { await this.session.release(); }
}

export class NodeExecutor implements Executor {
  async compile(graph: Graph, options: CompileOptions = {}): Promise<Program> {
    const bytes = toOnnxBytes(graph);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        ...ORT_SESSION_OPTIONS,
        intraOpNumThreads: options.intraOpThreads ?? availableParallelism(),
        interOpNumThreads: 1,
        executionMode: "sequential",
      });
    } catch (e) {
      throw new Error(`onnxruntime rejected graph "${graph.name}": ${String((e as Error).message ?? e).split("\n")[0]}`);
    }
    return new OrtProgram(session, graph);
  }
}

/** One shared executor for Node callers. */
export const nodeExecutor = new NodeExecutor();
