// Executor on onnxruntime-web (wasm with threads + SIMD, or WebGPU): the same interface as runtime/node.ts, for Web Workers.
// The ORT module is passed in (not imported) so the caller picks the build (plain wasm or the WebGPU one) and bundles it.
import type * as OrtWeb from "onnxruntime-web";
import type { Graph } from "../ir/graph.js";
import { toOnnxBytes } from "../builder/onnx-export.js";
import { type DType, type Tensor, tensor } from "../ir/tensor.js";
import type { CompileOptions, Executor, Program } from "./executor.js";
import { ORT_SESSION_OPTIONS, checkFeeds } from "./ort-common.js";
import { fitGraph } from "./fit.js";
import { type BackendProfile, PROFILES } from "../ops/profile.js";

type Ort = typeof OrtWeb;

/** Where the program runs: the wasm CPU backend (threads need a cross-origin-isolated page) or WebGPU. */
export type WebBackend = { kind: "wasm"; threads?: number } | { kind: "webgpu" };

export interface WebExecutorOptions {
  backend: WebBackend;
  /** URL prefix (ending in "/") of the ort-wasm-simd-threaded*.{mjs,wasm} files served with the page; never a CDN. */
  wasmPaths: string;
}

const ORT_TYPE: Record<DType, OrtWeb.Tensor.Type> = {
  float32: "float32",
  float64: "float64",
  int64: "int64",
  int32: "int32",
  uint8: "uint8",
  bool: "bool",
};

/** Whether this context may run wasm threads (SharedArrayBuffer needs COOP/COEP). */
export const canUseThreads = (): boolean => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

/** Whether this context has a WebGPU adapter (false when navigator.gpu is missing or yields none). */
export async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

class WebProgram implements Program {
  constructor(
    private readonly ort: Ort,
    private readonly session: OrtWeb.InferenceSession,
    private readonly graph: Graph,
    private readonly backend: string,
  ) {}
  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Readonly<Record<string, Tensor>>, fetch?: readonly string[]): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, OrtWeb.Tensor> = {};
    for (const [name, t] of checkFeeds(this.graph, feeds))
      ortFeeds[name] = new this.ort.Tensor(ORT_TYPE[t.dtype], t.data as never, [...t.shape]);
    let res: OrtWeb.InferenceSession.OnnxValueMapType;
    try {
      res = fetch ? await this.session.run(ortFeeds, [...fetch]) : await this.session.run(ortFeeds);
    } catch (e) {
      throw new Error(`onnxruntime-web (${this.backend}) failed running graph "${this.graph.name}": ${firstLine(e)}`);
    }
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(res)) out[k] = fromOrt(t, k);
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function fromOrt(t: OrtWeb.Tensor, name: string): Tensor {
  const dtype = (Object.keys(ORT_TYPE) as DType[]).find((d) => ORT_TYPE[d] === t.type);
  if (!dtype) throw new Error(`output "${name}": unsupported element type ${t.type}`);
  const data = dtype === "bool" ? new Uint8Array(t.data as unknown as ArrayLike<number>) : t.data;
  return tensor(dtype, [...t.dims], data as Tensor["data"]);
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split("\n")[0];

let configured: string | undefined;

export class WebExecutor implements Executor {
  readonly backend: WebBackend;
  /** Gradient formulations and validation for this backend (wasm runs every op; WebGPU has its own profile). */
  readonly profile: BackendProfile;

  /** Sets ort.env once per context: wasm threads are fixed for a page's lifetime, so a second, different setup is refused. */
  constructor(
    private readonly ort: Ort,
    options: WebExecutorOptions,
  ) {
    this.backend = options.backend;
    this.profile = PROFILES[options.backend.kind === "webgpu" ? "webgpu" : "cpu"];
    if (!options.wasmPaths.endsWith("/")) throw new Error(`WebExecutor: wasmPaths must end in "/", got "${options.wasmPaths}"`);
    const threads = options.backend.kind === "wasm" ? (options.backend.threads ?? 0) : 1;
    if (!Number.isInteger(threads) || threads < 0) throw new Error(`WebExecutor: threads must be a non-negative integer, got ${threads}`);
    if (threads > 1 && !canUseThreads())
      throw new Error(`WebExecutor: ${threads} wasm threads need a cross-origin-isolated page (COOP same-origin, COEP require-corp)`);
    const key = `${options.wasmPaths}|${threads}`;
    if (configured !== undefined && configured !== key)
      throw new Error(`WebExecutor: onnxruntime-web is already set up as ${configured}; start a new Worker for ${key}`);
    configured = key;
    ort.env.wasm.wasmPaths = options.wasmPaths;
    // 0 lets ORT pick (min(4, ceil(cores/2))); 1 when the page is not isolated, as threads would fail to start
    ort.env.wasm.numThreads = canUseThreads() ? threads : 1;
    // already inside a Worker: ORT's own proxy worker would only add a copy per call
    ort.env.wasm.proxy = false;
  }

  async compile(graph: Graph, options: CompileOptions = {}): Promise<Program> {
    const provider = this.backend.kind;
    // rewrites what the backend cannot run (or refuses naming the op and node) before anything reaches onnxruntime
    const fitted = fitGraph(graph, this.profile);
    const bytes = toOnnxBytes(fitted);
    let session: OrtWeb.InferenceSession;
    try {
      session = await this.ort.InferenceSession.create(bytes, {
        ...ORT_SESSION_OPTIONS,
        executionProviders: [provider],
        executionMode: "sequential",
        ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
      });
    } catch (e) {
      throw new Error(`onnxruntime-web (${provider}) rejected graph "${graph.name}": ${firstLine(e)}`);
    }
    return new WebProgram(this.ort, session, fitted, provider);
  }

  /** The thread count ORT-web runs with (after the first session is created). */
  get threads(): number {
    return this.ort.env.wasm.numThreads ?? 1;
  }
}
