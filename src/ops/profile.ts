// Backend profiles: which ONNX ops (and attribute forms) each ONNX Runtime flavour runs. Browser-safe, data only.
import type { Graph, Node } from "../ir/graph.js";
import type { OpType } from "../ops/attrs.js";

export type BackendName = "cpu" | "webgpu";

/** undefined: the node runs; otherwise why it cannot. */
export type OpRule = true | ((node: Node) => string | undefined);

/** Which Convs (3×3, stride 1, pad 1, ungrouped) run as Winograd F(tile×tile, 3×3): where they measured faster than direct. */
export interface WinogradRule {
  readonly tile: 2 | 4;
  /** Fewest input and output channels. */
  readonly minChannels: number;
  /** Most input pixels H·W. */
  readonly maxPixels: number;
}

export interface BackendProfile {
  readonly name: BackendName;
  /** Ops with a kernel ("all": every op robustlens emits); a missing op has none. */
  readonly ops: "all" | Partial<Readonly<Record<OpType, OpRule>>>;
  /** Why an op missing from `ops` is refused (for the error). */
  readonly missing: string;
  /**
   * ORT's NCHWc block size where the backend has its com.microsoft.nchwc kernels (onnxruntime-node on x64: 16 with
   * AVX-512, 8 with AVX2): Convs on weights that are not constants then run blocked (runtime/nchwc.ts). Absent: plain Conv.
   */
  readonly nchwcBlock?: 8 | 16;
  /** Convs rewritten to Winograd in the graph (absent: none). */
  readonly winograd?: WinogradRule;
  /**
   * 2-D Convs and their gradients run as oneDNN kernels where the rule takes them (onnxruntime-node with robustlens's
   * native addon, runtime/node/dnnl.ts): gradients use the ConvGradWeight op, which only this backend runs.
   */
  readonly dnnl?: DnnlRule;
}

/** Which graphs run their convolutions on oneDNN: those with at least this much 2-D convolution work per example. */
export interface DnnlRule {
  readonly minGraphMacsPerExample: number;
}

/** Multiply-adds per example of a graph's Conv, ConvTranspose and ConvGradWeight nodes with static sizes. */
export function convMacsPerExample(graph: Graph): number {
  let macs = 0;
  for (const n of graph.nodes) {
    if (n.op !== "Conv" && n.op !== "ConvTranspose" && n.op !== "ConvGradWeight") continue;
    const [a, b] = n.inputs;
    const group = (n.attrs as { group?: number }).group ?? 1;
    // per example: both channel counts × kernel taps × the positions of the correlation's output, over the group
    const dims =
      n.op === "Conv"
        ? [a?.shape?.[1], ...(b?.shape ?? []), ...(n.outputs[0]!.shape?.slice(2) ?? [])].slice(1)
        : n.op === "ConvTranspose"
          ? [...(b?.shape ?? []), ...(a?.shape?.slice(2) ?? [])]
          : [a?.shape?.[1], b?.shape?.[1], ...(n.attrs as { kernel_shape: number[] }).kernel_shape, ...(b?.shape?.slice(2) ?? [])];
    if (dims.length >= 4 && dims.every((d): d is number => typeof d === "number")) macs += dims.reduce((p, q) => p * q, 1) / group;
  }
  return macs;
}

/** The profile `graph` is built and run with: without oneDNN when the graph has less convolution work than the rule asks. */
export function dnnlFor(graph: Graph, profile: BackendProfile): BackendProfile {
  if (!profile.dnnl || convMacsPerExample(graph) >= profile.dnnl.minGraphMacsPerExample) return profile;
  const { dnnl: _, ...rest } = profile;
  return rest;
}

/** Whether the profile runs a 2-D correlation with this kernel, group and dilations on oneDNN (forward and gradients). */
export function dnnlTakes(
  profile: BackendProfile,
  c: { kernel: readonly unknown[]; group: number; dilations: readonly number[] },
): boolean {
  return !!profile.dnnl && c.group === 1 && c.kernel.length === 2 && c.dilations.every((d) => d === 1);
}

/** Ops of robustlens's own domain: emitted only for the backends that run them, never imported. */
export const ROBUSTLENS_DOMAIN = "ai.robustlens";
export const OWN_OPS: ReadonlySet<OpType> = new Set<OpType>(["ConvGradWeight"]);

/** Why `node` cannot run on the backend, or undefined when it can. */
export function unsupported(profile: BackendProfile, node: Node): string | undefined {
  if (OWN_OPS.has(node.op as OpType) && !profile.dnnl) return "runs only on the oneDNN CPU backend (robustlens's native addon)";
  if (profile.ops === "all") return undefined;
  const rule = profile.ops[node.op];
  if (rule === undefined) return profile.missing;
  return rule === true ? undefined : rule(node);
}

/** Whether a node of `op` with these attributes and this many outputs runs (for choosing formulations). */
export function runs<K extends OpType>(
  profile: BackendProfile,
  op: K,
  attrs: Node<K>["attrs"] = {} as Node<K>["attrs"],
  outputs = 1,
): boolean {
  return (
    unsupported(profile, { op, name: op, inputs: [], outputs: Array.from({ length: outputs }), attrs } as unknown as Node) === undefined
  );
}

// onnxruntime-node's CPU EP and ORT-web's wasm backend (the same CPU kernels) run every op in robustlens's registry
export const CPU_PROFILE: BackendProfile = { name: "cpu", ops: "all", missing: "has no kernel" };

/**
 * The WebGPU EPs of ONNX Runtime 1.30: ORT-web's JS EP (JSEP), its native C++ EP, and onnxruntime-node's bundled one.
 * Only ops with a kernel in both (sources: core/providers/webgpu kernel registrations, core/providers/js/operators,
 * js/web/docs/webgpu-operators.md). Ops without a kernel fall back to the CPU EP (copies every step) or, where the kernel
 * is registered but refuses the attributes, fail at run time; both are refused here.
 */
const WEBGPU_OPS: Partial<Record<OpType, OpRule>> = {
  Add: true,
  Sub: true,
  Mul: true,
  Div: true,
  Pow: true,
  Neg: true,
  Exp: true,
  Log: true,
  Sqrt: true,
  Abs: true,
  Reciprocal: true,
  Floor: true,
  Ceil: true,
  Erf: true,
  Relu: true,
  LeakyRelu: true,
  Sigmoid: true,
  Tanh: true,
  Elu: true,
  // webgpu/math/unary_elementwise_ops.cc and JSEP's unary ops both have these
  Sin: true,
  Cos: true,
  Tan: true,
  Asin: true,
  Acos: true,
  Atan: true,
  Sinh: true,
  Cosh: true,
  Asinh: true,
  Acosh: true,
  Atanh: true,
  // webgpu/math/unary_elementwise_ops.cc reads both bounds
  Clip: (n) => (n.inputs[1] && n.inputs[2] ? undefined : "without both min and max inputs is not supported (the kernel reads both)"),
  Where: true,
  Cast: true,
  Equal: true,
  Greater: true,
  Less: true,
  GreaterOrEqual: true,
  LessOrEqual: true,
  Not: true,
  MatMul: true,
  Gemm: true,
  // webgpu/math/einsum.cc and js/operators/einsum
  Einsum: true,
  Conv: true,
  ConvTranspose: true,
  AveragePool: true,
  GlobalAveragePool: true,
  GlobalMaxPool: true,
  ReduceSum: true,
  ReduceMean: true,
  ReduceMax: true,
  ReduceMin: true,
  ReduceL2: true,
  ReduceProd: true,
  Softmax: true,
  ArgMax: true,
  ArgMin: true,
  Flatten: true,
  Reshape: true,
  Transpose: true,
  Squeeze: true,
  Unsqueeze: true,
  Concat: true,
  Slice: true,
  Pad: true,
  Resize: true,
  Expand: true,
  Gather: true,
  GatherElements: true,
  Split: true,
  Tile: true,
  // webgpu/math/cum_sum.cc and JSEP's cumsum
  CumSum: true,
  Shape: true,
  ConstantOfShape: true,
  // ORT removes Identity nodes while optimizing the graph (the native EP also has a kernel)
  Identity: true,
  // constants become initializers when the model loads
  Constant: true,
  // webgpu/nn/pool.cc: "The Indices output is not supported yet", and column-major storage_order is refused
  MaxPool: (n) =>
    n.outputs.length > 1
      ? 'with the Indices output fails at run time ("not supported yet")'
      : (n.attrs as { storage_order?: number }).storage_order
        ? "with storage_order=1 fails at run time"
        : undefined,
  // webgpu/nn/batch_norm.cc: "BatchNormalization trainingMode is not supported yet"
  BatchNormalization: (n) =>
    (n.attrs as { training_mode?: number }).training_mode
      ? 'with training_mode=1 fails at run time ("trainingMode is not supported yet")'
      : undefined,
};

export const WEBGPU_PROFILE: BackendProfile = {
  name: "webgpu",
  ops: WEBGPU_OPS,
  missing: "has no kernel in ONNX Runtime's WebGPU execution providers (it would fall back to the CPU, copying every run)",
};

export const PROFILES: Readonly<Record<BackendName, BackendProfile>> = { cpu: CPU_PROFILE, webgpu: WEBGPU_PROFILE };

export function parseBackend(name: string, flag = "--device"): BackendName {
  if (name !== "cpu" && name !== "webgpu") throw new Error(`${flag} must be cpu or webgpu, got "${name}"`);
  return name;
}
