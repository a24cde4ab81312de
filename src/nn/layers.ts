// Layer helpers over the Builder: parameters become named, seeded graph initializers (PyTorch-style init).
import type { Builder } from "../builder/builder.js";
import type { Graph, Value } from "../ir/graph.js";
import { type Tensor, formatShape, sizeOf, tensor } from "../ir/tensor.js";
import { Rng } from "../util/rng.js";

export type BnMode = "eval" | "train";

/** How a parameter starts (when no checkpoint tensor replaces it). */
export type Init =
  | { kind: "normal"; std: number }
  | { kind: "uniform"; bound: number }
  | { kind: "const"; value: number }
  | { kind: "tensor"; tensor: Tensor };

export interface LayerOptions {
  /** Seeds every parameter's initialization (default 0). */
  seed?: number;
  /** "eval": BatchNormalization inference; "train": batch statistics and updated running statistics as outputs. */
  mode?: BnMode;
  /** Tensors replacing initial values by name (a checkpoint); shapes must match. */
  weights?: ReadonlyMap<string, Tensor>;
  /** Values (e.g. graph inputs) used in place of the named parameters, to differentiate with respect to them. */
  given?: Readonly<Record<string, Value>>;
}

export interface ConvOptions {
  out: number;
  kernel: number;
  stride?: number;
  pad?: number;
  bias?: boolean;
}

/** BN momentum in ONNX terms: running ← running·0.9 + batch·0.1, i.e. PyTorch's default momentum 0.1. */
export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-5;

/** FNV-1a of a name: each parameter draws from its own stream, so its values do not depend on build order. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Gives a value a chosen name (the Builder names outputs after nodes); the name must still be free. */
export function nameValue(graph: Graph, v: Value, name: string): Value {
  if (graph.uniqueName(name) !== name) throw new Error(`internal: value name "${name}" is already taken`);
  v.name = name;
  return v;
}

export class Layers {
  /** Trainable parameter names, in creation order. */
  readonly params: string[] = [];
  /** BN running mean/var names, in creation order (mean then var per BN). */
  readonly buffers: string[] = [];
  /** Updated running statistics (train mode), in `buffers` order. */
  readonly runningStats: Value[] = [];
  readonly mode: BnMode;
  private readonly seed: number;
  private readonly used = new Set<string>();

  constructor(
    readonly b: Builder,
    private readonly opts: LayerOptions = {},
  ) {
    this.mode = opts.mode ?? "eval";
    this.seed = opts.seed ?? 0;
    if (this.mode !== "eval" && this.mode !== "train") throw new Error(`mode must be "eval" or "train", got ${JSON.stringify(this.mode)}`);
  }

  get graph(): Graph {
    return this.b.graph;
  }

  /** A float32 initializer named `name` (or the checkpoint's / a given value), recorded as a parameter or buffer. */
  param(name: string, shape: readonly number[], init: Init, role: "param" | "buffer" | "const" = "param"): Value {
    if (role === "param") this.params.push(name);
    else if (role === "buffer") this.buffers.push(name);
    const given = this.opts.given?.[name];
    if (given) {
      if (given.shape && formatShape(given.shape) !== formatShape(shape)) {
        throw new Error(`given value for "${name}" has shape ${formatShape(given.shape)}, the model expects ${formatShape(shape)}`);
      }
      return given;
    }
    const w = this.opts.weights?.get(name);
    if (w) {
      this.used.add(name);
      if (w.dtype !== "float32" || formatShape(w.shape) !== formatShape(shape)) {
        throw new Error(`weights: "${name}" is ${w.dtype}${formatShape(w.shape)}, the model expects float32${formatShape(shape)}`);
      }
      return this.graph.addInitializer(name, w);
    }
    return this.graph.addInitializer(name, this.initTensor(name, shape, init));
  }

  private initTensor(name: string, shape: readonly number[], init: Init): Tensor {
    if (init.kind === "tensor") return init.tensor;
    const data = new Float32Array(sizeOf(shape));
    if (init.kind === "const") data.fill(init.value);
    else {
      const rng = new Rng((hashName(name) ^ Math.imul(this.seed + 1, 0x9e3779b1)) >>> 0);
      if (init.kind === "normal") for (let i = 0; i < data.length; i++) data[i] = init.std * rng.normal();
      else for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-init.bound, init.bound);
    }
    return tensor("float32", shape, data);
  }

  /** Checkpoint tensors that matched no initializer (a wrong architecture or width). */
  unusedWeights(): string[] {
    return [...(this.opts.weights?.keys() ?? [])].filter((k) => !this.used.has(k));
  }

  private channels(x: Value, what: string): number {
    const c = x.shape?.[1];
    if (typeof c !== "number") throw new Error(`${what}: input ${x} needs a static channel dimension`);
    return c;
  }

  /** Conv2d; Kaiming-normal fan_out (mode="fan_out", relu) as torchvision ResNets; bias (zeros) only when asked. */
  conv(x: Value, name: string, o: ConvOptions): Value {
    const cin = this.channels(x, `conv "${name}"`);
    const k = o.kernel,
      s = o.stride ?? 1,
      p = o.pad ?? 0;
    const w = this.param(`${name}.weight`, [o.out, cin, k, k], { kind: "normal", std: Math.sqrt(2 / (o.out * k * k)) });
    const bias = o.bias ? this.param(`${name}.bias`, [o.out], { kind: "const", value: 0 }) : null;
    return this.b.one("Conv", [x, w, bias], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p] }, name);
  }

  /** BatchNorm2d: weight 1, bias 0, running mean 0, var 1; in train mode also records the updated running stats. */
  batchNorm(x: Value, name: string): Value {
    const c = this.channels(x, `batchNorm "${name}"`);
    const scale = this.param(`${name}.weight`, [c], { kind: "const", value: 1 });
    const bias = this.param(`${name}.bias`, [c], { kind: "const", value: 0 });
    const mean = this.param(`${name}.running_mean`, [c], { kind: "const", value: 0 }, "buffer");
    const varv = this.param(`${name}.running_var`, [c], { kind: "const", value: 1 }, "buffer");
    const ins = [x, scale, bias, mean, varv];
    if (this.mode === "eval") return this.b.one("BatchNormalization", ins, { epsilon: BN_EPSILON }, name);
    const [y, m, v] = this.b.add(
      "BatchNormalization",
      ins,
      { epsilon: BN_EPSILON, momentum: BN_MOMENTUM, training_mode: 1 },
      { name, outputs: 3 },
    );
    y!.name = this.graph.uniqueName(name);
    this.runningStats.push(nameValue(this.graph, m!, `${name}.running_mean_new`), nameValue(this.graph, v!, `${name}.running_var_new`));
    return y!;
  }

  relu(x: Value, name: string): Value {
    return this.b.one("Relu", [x], {}, name);
  }

  add(a: Value, c: Value, name: string): Value {
    return this.b.one("Add", [a, c], {}, name);
  }

  maxPool(x: Value, name: string, k = 2): Value {
    return this.b.one("MaxPool", [x], { kernel_shape: [k, k], strides: [k, k] }, name);
  }

  /** Linear as Gemm(x, W, b, transB=1); PyTorch default init: weight and bias uniform(±1/√fan_in). */
  linear(x: Value, name: string, out: number): Value {
    const fanIn = x.shape?.[1];
    if (x.rank !== 2 || typeof fanIn !== "number")
      throw new Error(`linear "${name}": input ${x} must be [batch, features] with static features`);
    const bound = 1 / Math.sqrt(fanIn);
    const w = this.param(`${name}.weight`, [out, fanIn], { kind: "uniform", bound });
    const bias = this.param(`${name}.bias`, [out], { kind: "uniform", bound });
    return this.b.one("Gemm", [x, w, bias], { transB: 1 }, name);
  }

  /** Global average pool + flatten to [batch, C]; the Flatten node (and its value) is named `name`. */
  globalPool(x: Value, name: string): Value {
    const p = this.b.one("GlobalAveragePool", [x], {}, `${name}.pool`);
    return this.b.one("Flatten", [p], { axis: 1 }, name);
  }
}
