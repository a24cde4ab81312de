// oneDNN convolutions inside ONNX Runtime sessions (native/ortdnnl.c, built by `npm run build` where libdnnl-dev is
// installed): the addon drives onnxruntime-node's own libonnxruntime through its C API with Conv, ConvGradData and
// ConvGradWeight kernels of domain ai.robustlens, which run on oneDNN (Winograd on 3×3 stride-1 where it has it).
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import type { Graph, Node, Value } from "../../ir/graph.js";
import { type IAttr, type IModel, type INode, toNum } from "../../builder/onnx-tensor.js";
import { type BackendProfile, type DnnlRule, ROBUSTLENS_DOMAIN, dnnlTakes } from "../../ops/profile.js";
import { foldBatchNorm } from "../../builder/fold-bn.js";
import { blockedLayouts } from "./dnnl-layout.js";

/**
 * The CPU backend's rule: models from 50 M multiply-adds of convolution per example (CIFAR ResNet-18 has 556 M,
 * ResNet-50 at 224² 4.1 G); small CNNs such as the Fashion-MNIST one (4 M) keep ORT's NCHWc kernels, which win there,
 * and exact ties in max-pooling (Winograd's rounding differs by position: bench/README.md, "oneDNN").
 */
export const CPU_DNNL: DnnlRule = { minGraphMacsPerExample: 50e6 };

interface RawTensor {
  type: number;
  dims: number[];
  data: ArrayBuffer;
}
interface Addon {
  init(libonnxruntime: string): string;
  createSession(
    bytes: Uint8Array,
    threads: number,
    arena: boolean,
    keys: string[],
    values: string[],
    profilePrefix?: string,
  ): { handle: object; inputNames: string[]; outputNames: string[] };
  endProfiling(handle: object): string;
  releaseSession(handle: object): void;
  run(
    handle: object,
    names: string[],
    inputs: { type: number; dims: number[]; data: ArrayBufferView }[],
    outputs: string[],
  ): Promise<RawTensor[]>;
  allocatorStats(): DnnlAllocatorStats;
  trimAllocator(): void;
}

/** The addon's allocator for its sessions' tensors (native/ort_alloc.c): bytes live and kept, its bound, reuse counts. */
export interface DnnlAllocatorStats {
  /** Whether ORT took it (else each session allocates as ORT does by default). */
  shared: boolean;
  live: number;
  cached: number;
  /** The most live at once since the last trim: live + cached never exceeds it. */
  peak: number;
  hits: number;
  misses: number;
}

// ONNX TensorProto element types of the ort.Tensor types robustlens feeds and fetches
const CODE: Partial<Record<ort.Tensor.Type, number>> = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float64: 11 };
const ARRAY: Record<number, [ort.Tensor.Type, new (b: ArrayBuffer) => ort.Tensor.DataType]> = {
  1: ["float32", Float32Array],
  2: ["uint8", Uint8Array],
  6: ["int32", Int32Array],
  7: ["int64", BigInt64Array],
  9: ["bool", Uint8Array],
  11: ["float64", Float64Array],
};

let addon: Addon | null | undefined;
let failure = "";
let liveSessions = 0;

/** The libonnxruntime that onnxruntime-node loaded (under its package's bin folder). */
function ortLibrary(): string {
  const pkg = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
  const bin = join(pkg, "bin");
  for (const napi of readdirSync(bin).filter((d) => d.startsWith("napi-v"))) {
    const dir = join(bin, napi, process.platform, process.arch);
    try {
      const lib = readdirSync(dir).find((f) => /^libonnxruntime\.so(\.\d+)*$/.test(f));
      if (lib) return join(dir, lib);
    } catch {
      // another napi version's folder
    }
  }
  throw new Error(`no libonnxruntime.so under ${bin}`);
}

function load(): Addon | null {
  if (addon !== undefined) return addon;
  try {
    // onnxruntime-node loads its library when imported; this binds the same copy
    void ort.env;
    // dist/src/runtime/node/dnnl.js → dist/native/ortdnnl.node
    const a = createRequire(import.meta.url)("../../../native/ortdnnl.node") as Addon;
    a.init(ortLibrary());
    addon = a;
  } catch (e) {
    failure = String((e as Error).message ?? e).split("\n")[0]!;
    addon = null;
  }
  return addon;
}

/** The oneDNN sessions' allocator: its figures, or undefined without the addon. */
export function dnnlAllocatorStats(): DnnlAllocatorStats | undefined {
  return load()?.allocatorStats();
}

/** Unmaps the large blocks the oneDNN sessions' allocator keeps for reuse (when a workload ends). */
export function trimDnnlAllocator(): void {
  load()?.trimAllocator();
}

/** Whether the oneDNN addon is built and bound here; otherwise why not. */
export function dnnlStatus(): { available: true } | { available: false; why: string } {
  return load() ? { available: true } : { available: false, why: failure };
}

export interface DnnlSessionOptions {
  threads: number;
  arena: boolean;
  /** Session config entries ("session.…", "optimization.…"). */
  config: Readonly<Record<string, string>>;
  /** ORT's profiler on, writing `<prefix>_<date>.json` (bench/profile.mjs). */
  profilePrefix?: string;
}

/** An ONNX Runtime session with the ai.robustlens kernels, shaped like the part of ort.InferenceSession robustlens uses. */
export class DnnlSession {
  private constructor(
    private handle: object | undefined,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static create(bytes: Uint8Array, options: DnnlSessionOptions): DnnlSession {
    const a = load();
    if (!a) throw new Error(`the oneDNN addon is not available (${failure})`);
    const keys = Object.keys(options.config);
    const s = a.createSession(
      bytes,
      options.threads,
      options.arena,
      keys,
      keys.map((k) => options.config[k]!),
      options.profilePrefix,
    );
    liveSessions++;
    return new DnnlSession(s.handle, s.inputNames, s.outputNames);
  }

  async run(feeds: Readonly<Record<string, ort.Tensor>>, fetches?: readonly string[]): Promise<Record<string, ort.Tensor>> {
    if (!this.handle) throw new Error("run on a released session");
    const names = Object.keys(feeds);
    const inputs = names.map((n) => {
      const t = feeds[n]!;
      const type = CODE[t.type];
      if (type === undefined) throw new Error(`input "${n}": unsupported element type ${t.type}`);
      return { type, dims: [...t.dims], data: t.data as ArrayBufferView };
    });
    const wanted = [...(fetches ?? this.outputNames)];
    const raw = await addon!.run(this.handle, names, inputs, wanted);
    const out: Record<string, ort.Tensor> = {};
    raw.forEach((r, i) => {
      const [type, Ctor] = ARRAY[r.type]!;
      out[wanted[i]!] = new ort.Tensor(type, new Ctor(r.data) as never, r.dims);
    });
    return out;
  }

  /** Ends ORT's profiler (sessions created with a profilePrefix); returns the JSON file it wrote. */
  endProfiling(): string {
    if (!this.handle) throw new Error("endProfiling on a released session");
    return addon!.endProfiling(this.handle);
  }

  async release(): Promise<void> {
    if (!this.handle) return;
    addon!.releaseSession(this.handle);
    this.handle = undefined;
    // the last session gone: what the allocator kept for the next run goes back to the system
    if (--liveSessions === 0) addon!.trimAllocator();
  }
}

const int = (name: string, i: number): IAttr => ({ name, type: 2, i });
const intsOf = (n: INode, name: string): number[] | undefined => n.attribute?.find((a) => a.name === name)?.ints?.map(toNum);

/** Counts of what dnnlConvs rewrote. */
export interface DnnlStats {
  conv: number;
  /** Convs whose ReLU runs in the same kernel. */
  relu: number;
  /** Convs whose residual Add (then maybe ReLU) runs in the same kernel. */
  residual: number;
  /** Convs (input gradients) whose ReLU backward mask dy·(y > 0) runs in the same kernel. */
  mask: number;
  gradData: number;
  gradWeight: number;
  /** Tensors kept in oneDNN's blocked layout between kernels (dnnl-layout.ts). */
  blocked: number;
}

/** Scalar window attributes of the ai.robustlens kernels from an ONNX node's strides and pads (2-D). */
function windowAttrs(n: INode): IAttr[] {
  const s = intsOf(n, "strides") ?? [1, 1];
  const p = intsOf(n, "pads") ?? [0, 0, 0, 0];
  return [
    int("stride_h", s[0]!),
    int("stride_w", s[1]!),
    int("pad_top", p[0]!),
    int("pad_left", p[1]!),
    int("pad_bottom", p[2]!),
    int("pad_right", p[3]!),
  ];
}

/** Whether the kernels take an IR Conv, ConvTranspose (a Conv's input gradient) or ConvGradWeight node. */
export function dnnlTakesNode(profile: BackendProfile, node: Node): boolean {
  if (node.op === "ConvGradWeight") return true;
  if ((node.op !== "Conv" && node.op !== "ConvTranspose") || !plain2d(node)) return false;
  const a = node.attrs as { group?: number; dilations?: number[] };
  const taken = dnnlTakes(profile, {
    kernel: node.inputs[1]?.shape?.slice(2) ?? [],
    group: a.group ?? 1,
    dilations: a.dilations ?? [1, 1],
  });
  if (node.op === "Conv" || !taken) return taken;
  // a Conv's input gradient: no bias, and the size of the Conv's input known
  const out = node.outputs[0]!.shape;
  return node.inputs.length === 2 && typeof out?.[2] === "number" && typeof out[3] === "number";
}

/** Whether an IR Conv or ConvTranspose node is one the kernels can take: 2-D, float32, ungrouped, undilated, explicit pads. */
function plain2d(node: Node): boolean {
  const a = node.attrs as { group?: number; dilations?: number[]; auto_pad?: string; output_shape?: number[] };
  const x = node.inputs[0];
  return (
    x?.rank === 4 &&
    x.dtype === "float32" &&
    (a.group ?? 1) === 1 &&
    (a.dilations ?? [1, 1]).every((d) => d === 1) &&
    (a.auto_pad ?? "NOTSET") === "NOTSET" &&
    !a.output_shape
  );
}

/**
 * ORT fuses Conv → inference BatchNormalization only for its own Conv: before the Convs become oneDNN kernels, the
 * graph (a copy, where there is a pair) folds them itself.
 */
export function foldForDnnl(graph: Graph): Graph {
  const pair = graph.nodes.some((n) => n.op === "BatchNormalization" && n.inputs[0]?.producer?.op === "Conv");
  if (!pair) return graph;
  const copy = graph.clone().graph;
  foldBatchNorm(copy, new Set(copy.outputs), new Set());
  return copy;
}

const sameShape = (a: Value, b: Value): boolean =>
  !!a.shape && !!b.shape && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape![i]);

/**
 * The model of `graph` (graphToModelProto's, node for node) with its Convs as ai.robustlens Conv (a ReLU, or a residual
 * Add and then maybe a ReLU, that alone read the Conv's output run in it), its gradient ConvTransposes (no bias, static
 * output size) as ConvGradData, and its ConvGradWeight nodes given the kernels' scalar attributes. Other nodes are
 * unchanged. (A ReluGrad kernel for the backward masks, measured: 32 ms of a ResNet-18 PGD step with 2 OpenMP threads,
 * 59 with one, against 23 for ORT's Greater, Cast and Mul; not kept.)
 */
export function dnnlConvs(
  graph: Graph,
  model: IModel,
  profile: BackendProfile,
  stable: ReadonlySet<string> = new Set(),
): { model: IModel; stats: DnnlStats } {
  const stats: DnnlStats = { conv: 0, relu: 0, residual: 0, mask: 0, gradData: 0, gradWeight: 0, blocked: 0 };
  const users = graph.consumers();
  const outputs = new Set(graph.outputs);
  /** The one node that reads v (not a graph output), or undefined. */
  const onlyUser = (v: Value): Node | undefined => {
    const u = users.get(v);
    return u?.length === 1 && !outputs.has(v) ? u[0] : undefined;
  };
  const dropped = new Set<Node>();
  // a Conv fused with its residual Add (or backward mask) is written where that node was (the residual may be computed
  // after the Conv)
  const atAdd = new Map<Node, INode>();
  const claimed = new Set<Node>();
  const proto = new Map(graph.nodes.map((node, i) => [node, model.graph!.node![i]!]));
  /** A ReLU's backward mask on `a`: mul = a · Cast(Greater(y, 0)) with each node read once; y and the mask's nodes. */
  const reluMask = (mul: Node | undefined, a: Value): { y: Value; nodes: Node[] } | undefined => {
    if (mul?.op !== "Mul" || mul.inputs.length !== 2 || mul.inputs[0] === mul.inputs[1]) return undefined;
    const c = mul.inputs.find((v) => v !== a);
    const cast = c?.producer;
    if (!c || !mul.inputs.includes(a) || cast?.op !== "Cast" || c.dtype !== "float32" || onlyUser(c) !== mul) return undefined;
    const gt = cast.inputs[0]?.producer;
    if (gt?.op !== "Greater" || onlyUser(cast.inputs[0]!) !== cast) return undefined;
    const [y, zero] = gt.inputs;
    const z = zero?.data?.data;
    if (!y || !z || z.length !== 1 || Number(z[0]) !== 0 || y.dtype !== "float32" || !sameShape(y, a)) return undefined;
    return { y, nodes: [gt, cast] };
  };
  /** The Conv's kernel node, or undefined where it is written at the last node it absorbs instead. */
  const rewriteConv = (node: Node, n: INode): INode | undefined => {
    stats.conv++;
    const y = node.outputs[0]!;
    const next = onlyUser(y);
    const attrs = windowAttrs(n);
    const own: INode = { ...n, domain: ROBUSTLENS_DOMAIN, attribute: attrs };
    const [x, w, b = ""] = n.input!;
    if (next?.op === "Relu") {
      stats.relu++;
      dropped.add(next);
      return { ...own, output: [next.outputs[0]!.name], attribute: [...attrs, int("relu", 1)] };
    }
    // an input gradient masked by the ReLU before it (backward): the mask is applied as the kernel writes
    const alone = reluMask(next, y);
    if (alone) {
      stats.mask++;
      alone.nodes.forEach((m) => dropped.add(m));
      atAdd.set(next!, {
        ...own,
        input: [x!, w!, b, "", alone.y.name],
        output: [next!.outputs[0]!.name],
        attribute: [...attrs, int("mask", 1)],
      });
      return undefined;
    }
    const r = next?.op === "Add" || next?.op === "Sum" ? next.inputs.find((v) => v !== y) : undefined;
    // an Add of two Convs takes the first one (the other is its residual, computed at its own place)
    if (!next || !r || claimed.has(next) || next.inputs.length !== 2 || !sameShape(r, y) || r.dtype !== "float32") return own;
    claimed.add(next);
    stats.residual++;
    const after = onlyUser(next.outputs[0]!);
    const relu = after?.op === "Relu" ? after : undefined;
    const mask = relu ? undefined : reluMask(after, next.outputs[0]!);
    if (relu) dropped.add(relu);
    if (mask) {
      stats.mask++;
      mask.nodes.forEach((m) => dropped.add(m));
      dropped.add(next);
    }
    const last = mask ? after! : next;
    atAdd.set(last, {
      ...own,
      input: [x!, w!, b, r.name, ...(mask ? [mask.y.name] : [])],
      output: [(relu ?? last).outputs[0]!.name],
      attribute: [...attrs, int("sum", 1), ...(relu ? [int("relu", 1)] : []), ...(mask ? [int("mask", 1)] : [])],
    });
    return undefined;
  };
  const rewritten = graph.nodes.map((node): INode | undefined => {
    const n = proto.get(node)!;
    if (dropped.has(node)) return undefined;
    if (!dnnlTakesNode(profile, node)) return n;
    if (node.op === "Conv") return rewriteConv(node, n);
    if (node.op === "ConvTranspose") {
      stats.gradData++;
      const out = node.outputs[0]!.shape as number[];
      return {
        ...n,
        opType: "ConvGradData",
        domain: ROBUSTLENS_DOMAIN,
        attribute: [...windowAttrs(n), int("in_h", out[2]!), int("in_w", out[3]!)],
      };
    }
    stats.gradWeight++;
    const k = intsOf(n, "kernel_shape")!;
    return { ...n, attribute: [...windowAttrs(n), int("kernel_h", k[0]!), int("kernel_w", k[1]!)] };
  });
  // the Adds that took a Conv become it (their ReLUs, visited later, are dropped)
  const nodes = graph.nodes.map((node, i) => (dropped.has(node) ? undefined : (atAdd.get(node) ?? rewritten[i])));
  if (!stats.conv && !stats.gradData && !stats.gradWeight) return { model, stats };
  const imports = model.opsetImport ?? [];
  const opsetImport = imports.some((o) => o.domain === ROBUSTLENS_DOMAIN)
    ? imports
    : [...imports, { domain: ROBUSTLENS_DOMAIN, version: 1 }];
  const kept = nodes.filter((n): n is INode => n !== undefined);
  const rewrittenModel: IModel = { ...model, opsetImport, graph: { ...model.graph, node: kept } };
  // RL_DNNL_LAYOUT=plain: every tensor NCHW between the kernels (to measure what the blocked layout saves)
  const laid =
    process.env.RL_DNNL_LAYOUT === "plain" ? { model: rewrittenModel, blocked: 0 } : blockedLayouts(graph, rewrittenModel, stable);
  stats.blocked = laid.blocked;
  return { model: laid.model, stats };
}
