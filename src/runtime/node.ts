// Executor on onnxruntime-node: sessions built from in-memory ONNX bytes, one per graph, cached by the caller.
import { readFileSync } from "node:fs";
import { availableParallelism, arch } from "node:os";
import * as ort from "onnxruntime-node";
import type { Graph } from "../ir/graph.js";
import { Builder } from "../builder/builder.js";
import { graphToModelProto, toOnnxBytes } from "../builder/onnx-export.js";
import { type IModel, onnx } from "../builder/onnx-tensor.js";
import { type DType, type Tensor, tensor } from "../ir/tensor.js";
import type { CompileOptions, Executor, Program } from "./executor.js";
import { fitGraph } from "./fit.js";
import { Graph as IrGraph } from "../ir/graph.js";
import { type BackendName, type BackendProfile, PROFILES, type WinogradRule, dnnlFor } from "../ops/profile.js";
import { ORT_SESSION_OPTIONS, checkFeeds } from "./ort-common.js";
import { blockConvs } from "./nchwc.js";
import { type HoistedModel, hoistStable } from "./hoist.js";
import { tuneMallocFor } from "./node/malloc.js";
import { COLLECT_AFTER_BYTES, collectSoon } from "./node/gc.js";
import { CPU_DNNL, DnnlSession, dnnlConvs, dnnlStatus, dnnlTakesNode, foldForDnnl } from "./node/dnnl.js";

// onnxruntime's own log lines (errors it also throws, telemetry warnings) would precede our one-line errors: fatal only
ort.env.logLevel = "fatal";

const ORT_TYPE: Record<DType, ort.Tensor.Type> = {
  float32: "float32",
  float64: "float64",
  int64: "int64",
  int32: "int32",
  uint8: "uint8",
  bool: "bool",
};

function fromOrt(t: ort.Tensor, name: string): Tensor {
  const dtype = (Object.keys(ORT_TYPE) as DType[]).find((d) => ORT_TYPE[d] === t.type);
  if (!dtype) throw new Error(`output "${name}": unsupported element type ${t.type}`);
  const data = dtype === "bool" ? new Uint8Array(t.data as unknown as ArrayLike<number>) : t.data;
  return tensor(dtype, [...t.dims], data as Tensor["data"]);
}

/** Inputs onnxruntime may write into: training-mode BatchNormalization updates its running mean/var buffers in place. */
const WRITTEN_INPUTS: Partial<Record<string, readonly number[]>> = { BatchNormalization: [3, 4] };

function writtenFeeds(graph: Graph): Set<string> {
  const inputs = new Set(graph.inputs.map((v) => v.name));
  const out = new Set<string>();
  for (const n of graph.nodes) {
    const at = WRITTEN_INPUTS[n.op];
    if (!at || (n.op === "BatchNormalization" && !(n.attrs as { training_mode?: number }).training_mode)) continue;
    for (const i of at) {
      const v = n.inputs[i];
      if (v && inputs.has(v.name)) out.add(v.name);
    }
  }
  return out;
}

/** MLAS's NCHWc block on this CPU (x64: 16 with AVX-512F, 8 with AVX2 and FMA), from /proc/cpuinfo; undefined elsewhere. */
export function nchwcBlockOfCpu(cpuinfo?: string): 8 | 16 | undefined {
  if (cpuinfo === undefined) {
    if (arch() !== "x64") return undefined;
    try {
      cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      return undefined;
    }
  }
  const flags = new Set((/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? "").trim().split(/\s+/));
  return flags.has("avx512f") ? 16 : flags.has("avx2") && flags.has("fma") ? 8 : undefined;
}

/**
 * Winograd F(4×4, 3×3) where it measured faster than ORT's direct NCHWc Conv (bench/README.md, "Winograd"): 512 channels
 * at 4×4 (CIFAR ResNet-18's layer4), 2.1× on constant weights, even on fed ones; it loses at 256 channels and below.
 */
export const CPU_WINOGRAD: WinogradRule = { tile: 4, minChannels: 512, maxPixels: 16 };

/**
 * The CPU profile for this machine: its NCHWc block (off with ROBUSTLENS_NCHWC=0), oneDNN's convolution kernels where
 * the addon is built (off with ROBUSTLENS_DNNL=0) and, with ROBUSTLENS_WINOGRAD=1, ORT-graph Winograd where it wins:
 * opt-in, because ORT folds the transformed weights into 4× larger constants (+620 MB on ResNet-18's PGD step programs)
 * for a few percent of a step.
 */
export function cpuProfileOfMachine(): BackendProfile {
  // NCHWc agrees with plain Conv to float32 rounding; where a ReLU input lies within it of zero, the two may switch that
  // unit differently (bench/nchwc-agree.mjs; bench/README.md, "NCHWc on fed weights")
  const dnnl = process.env.ROBUSTLENS_DNNL !== "0" && dnnlStatus().available ? CPU_DNNL : undefined;
  const block = process.env.ROBUSTLENS_NCHWC === "0" ? undefined : nchwcBlockOfCpu();
  const winograd = process.env.ROBUSTLENS_WINOGRAD === "1" ? CPU_WINOGRAD : undefined;
  return { ...PROFILES.cpu, ...(block ? { nchwcBlock: block } : {}), ...(winograd ? { winograd } : {}), ...(dnnl ? { dnnl } : {}) };
}

/** What OrtProgram needs of a session: onnxruntime-node's, or the oneDNN addon's (runtime/node/dnnl.ts). */
type Session = Pick<ort.InferenceSession, "inputNames" | "release"> & {
  run(feeds: Record<string, ort.Tensor>, fetches?: readonly string[]): Promise<ort.InferenceSession.OnnxValueMapType>;
};

/** The program of a split model's stable part and its last results, kept while the same stable tensors come back. */
interface Hoisted {
  session: Session;
  split: HoistedModel;
  last?: { keys: WeakRef<Tensor>[]; values: ort.InferenceSession.OnnxValueMapType };
}

class OrtProgram implements Program {
  /** Feeds copied before each run so that a run never changes a caller's tensor. */
  private readonly copied: Set<string>;
  constructor(
    private readonly session: Session,
    private readonly graph: Graph,
    private readonly hoisted?: Hoisted,
  ) {
    this.copied = writtenFeeds(graph);
  }
  get inputNames(): readonly string[] {
    return this.graph.inputs.map((v) => v.name);
  }
  get outputNames(): readonly string[] {
    return this.graph.outputs.map((v) => v.name);
  }

  async run(feeds: Readonly<Record<string, Tensor>>, fetch?: readonly string[]): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    const checked = checkFeeds(this.graph, feeds);
    for (const [name, t] of checked) {
      const data = this.copied.has(name) ? t.data.slice() : t.data;
      ortFeeds[name] = new ort.Tensor(ORT_TYPE[t.dtype], data as never, [...t.shape]);
    }
    const h = this.hoisted;
    let pre: ort.InferenceSession.OnnxValueMapType = {};
    if (h) {
      const keys = h.split.stable.map((n) => feeds[n]!);
      if (!h.last || h.last.keys.some((k, i) => k.deref() !== keys[i])) {
        h.last = undefined; // the old results go before the new ones are made
        const values = await h.session.run(Object.fromEntries(h.split.stable.map((n) => [n, ortFeeds[n]!])));
        h.last = { keys: keys.map((t) => new WeakRef(t)), values };
      }
      pre = h.last.values;
    }
    const mainInputs = h ? this.session.inputNames : undefined;
    const mainFeeds = mainInputs ? Object.fromEntries(mainInputs.map((n) => [n, ortFeeds[n] ?? pre[n]!])) : ortFeeds;
    const wanted = fetch ?? this.outputNames;
    const fromMain = h ? wanted.filter((n) => !h.split.outputs.includes(n)) : wanted;
    const res = !h && !fetch ? await this.session.run(mainFeeds) : fromMain.length ? await this.session.run(mainFeeds, [...fromMain]) : {};
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(res)) out[k] = fromOrt(t, k);
    if (h) for (const k of wanted) if (h.split.outputs.includes(k)) out[k] = fromOrt(pre[k] as ort.Tensor, k);
    return out;
  }

  async dropStable(): Promise<void> {
    // V8 frees the dropped buffers only at its next collection, which ORT's native runs do not trigger
    if (this.forgetStable() >= COLLECT_AFTER_BYTES) await collectSoon();
  }

  /** Drops the kept stable results; returns their bytes (synchronous, so no suspended frame keeps them reachable). */
  private forgetStable(): number {
    const last = this.hoisted?.last;
    if (!last) return 0;
    this.hoisted!.last = undefined;
    let bytes = 0;
    for (const t of Object.values(last.values)) bytes += ((t as ort.Tensor).data as ArrayBufferView).byteLength;
    return bytes;
  }

  async dispose(): Promise<void> {
    await this.session.release();
    if (this.hoisted) {
      this.hoisted.last = undefined;
      await this.hoisted.session.release();
    }
  }
}

export interface NodeExecutorOptions {
  /** Execution provider: "cpu" (default) or "webgpu" (the WebGPU EP bundled with onnxruntime-node; needs a GPU). */
  device?: BackendName;
  /** Formulations and validation (default: the device's profile); e.g. the webgpu profile on CPU to test its graphs. */
  profile?: BackendProfile;
  /**
   * ORT's CPU memory arena (default off): with it, each session keeps the high-water mark of its intermediates for its
   * lifetime, and a training loop holds several sessions; without it, large buffers go back to the system after each run.
   */
  memoryArena?: boolean;
}

/** The first line of an ORT error without its source-location prefix ("/path/file.cc:136 fn ... was false. "). */
function ortMessage(e: unknown): string {
  const line = String((e as Error)?.message ?? e).split("\n")[0]!;
  return line.replace(/^.*? was false\. /, "").replace(/^\/\S+:\d+ /, "");
}

export class NodeExecutor implements Executor {
  readonly device: BackendName;
  readonly profile: BackendProfile;
  private ready: Promise<void> | undefined;
  private readonly memoryArena: boolean;

  constructor(options: NodeExecutorOptions = {}) {
    this.memoryArena = options.memoryArena ?? false;
    this.device = options.device ?? "cpu";
    this.profile = options.profile ?? (this.device === "cpu" ? cpuProfileOfMachine() : PROFILES[this.device]);
  }

  private sessionOptions(threads: number | undefined): ort.InferenceSession.SessionOptions {
    return {
      ...ORT_SESSION_OPTIONS,
      executionProviders: [this.device],
      logSeverityLevel: 4,
      intraOpNumThreads: threads ?? availableParallelism(),
      interOpNumThreads: 1,
      executionMode: "sequential",
      enableCpuMemArena: this.memoryArena,
    };
  }

  /** The same options for the oneDNN addon's sessions (runtime/node/dnnl.ts), config entries flattened. */
  private dnnlOptions(threads: number | undefined): Parameters<typeof DnnlSession.create>[1] {
    const config: Record<string, string> = {};
    for (const [group, entries] of Object.entries(ORT_SESSION_OPTIONS.extra))
      for (const [k, v] of Object.entries(entries)) config[`${group}.${k}`] = v;
    // ORT's idle pool threads would spin on the cores oneDNN's OpenMP threads compute on (4 Convs: 46 → 29 ms)
    config["session.intra_op.allow_spinning"] = "0";
    return { threads: threads ?? availableParallelism(), arena: this.memoryArena, config };
  }

  /** Starts the device once with a one-node graph, so a missing GPU is reported as such and not as a graph error. */
  private start(): Promise<void> {
    if (this.device === "cpu") return Promise.resolve();
    this.ready ??= (async () => {
      const probe = new IrGraph();
      probe.name = "device-probe";
      const x = probe.addInput("x", "float32", [1]);
      probe.outputs = [new Builder(probe).addv(x, x)];
      try {
        await (await ort.InferenceSession.create(toOnnxBytes(probe), this.sessionOptions(1))).release();
      } catch (e) {
        throw new Error(
          `device ${this.device}: onnxruntime-node's WebGPU execution provider could not start (${ortMessage(e)}); it needs a GPU with a Vulkan, Metal or D3D12 driver (the cpu device runs everywhere)`,
        );
      }
    })();
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  async compile(graph: Graph, options: CompileOptions = {}): Promise<Program> {
    // graphs the oneDNN rule takes run their convolutions there, and no NCHWc (the two would block the same Convs; nor
    // is training-mode BN lowered to the blocked layout's elementwise ops: ORT's own kernel runs it)
    const ruled = dnnlFor(graph, this.profile);
    const dnnl = this.device === "cpu" && graph.nodes.some((n) => dnnlTakesNode(ruled, n));
    const profile: BackendProfile = dnnl ? { ...ruled, nchwcBlock: undefined } : ruled;
    const fit = fitGraph(graph, profile);
    const fitted = dnnl ? foldForDnnl(fit) : fit;
    await this.start();
    // before ORT allocates this model's tensors: glibc's mmap threshold for large models (runtime/node/malloc.ts)
    if (this.device === "cpu") tuneMallocFor(graph);
    const block = this.device === "cpu" ? profile.nchwcBlock : undefined;
    const exported = graphToModelProto(fitted);
    // inputs a run may write into are never stable (their copies are new every run)
    const written = writtenFeeds(fitted);
    const stable = (options.stableInputs ?? []).filter((n) => !written.has(n));
    const model = dnnl
      ? dnnlConvs(fitted, exported, profile, new Set(stable)).model
      : block
        ? blockConvs(fitted, exported, { block }).model
        : exported;
    const split = this.device === "cpu" && stable.length ? hoistStable(fitted, model, stable) : undefined;
    const create = async (m: IModel): Promise<Session> => {
      try {
        const bytes = onnx.ModelProto.encode(m).finish();
        if (dnnl) return DnnlSession.create(bytes, this.dnnlOptions(options.intraOpThreads));
        const s = await ort.InferenceSession.create(bytes, this.sessionOptions(options.intraOpThreads));
        return { inputNames: s.inputNames, release: () => s.release(), run: (f, fetches) => (fetches ? s.run(f, [...fetches]) : s.run(f)) };
      } catch (e) {
        throw new Error(`onnxruntime rejected graph "${graph.name}": ${String((e as Error).message ?? e).split("\n")[0]}`);
      }
    };
    if (!split) return new OrtProgram(await create(model), fitted);
    const pre = await create(split.pre);
    try {
      return new OrtProgram(await create(split.main), fitted, { session: pre, split });
    } catch (e) {
      await pre.release();
      throw e;
    }
  }
}

/** One shared executor for Node callers (CPU). */
export const nodeExecutor = new NodeExecutor();
