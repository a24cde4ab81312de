// The model zoo: architectures built in the IR with normalization inside; outputs "logits" then "rep".
import { Builder } from "../builder/builder.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { type BnMode, Layers, nameValue } from "./layers.js";
import { preactResnet18, resnet, scaled, wideResnet } from "./resnet.js";

/** Named architectures; "wrn-D-K" parses for any depth D ≡ 4 (mod 6) and width K (e.g. "wrn-28-4"). */
export type ArchName = "small-cnn" | "resnet18" | "resnet50" | "preact-resnet18" | "wrn-28-10";
export const ARCH_NAMES: readonly ArchName[] = ["small-cnn", "resnet18", "resnet50", "preact-resnet18", "wrn-28-10"];

export type ArchSpec =
  | { kind: "small-cnn" }
  | { kind: "resnet"; depth: 18 | 50 }
  | { kind: "preact-resnet"; depth: 18 }
  | { kind: "wrn"; depth: number; k: number };

export interface ModelOptions {
  arch: string;
  inChannels: number;
  imageSize: number;
  classes: number;
  /** Per-channel normalization applied first inside the graph: (x − mean) / std, x in [0,1]. */
  mean: number[];
  std: number[];
  /** Channel multiplier (default 1). */
  width?: number;
  seed?: number;
  mode?: BnMode;
  /** Replaces initial values by name (e.g. from a checkpoint); every tensor must match a model tensor's shape. */
  weights?: ReadonlyMap<string, Tensor>;
}

export interface BuiltModel {
  graph: Graph;
  /** Trainable initializers: conv/linear weights and biases, BN scale/bias. */
  params: string[];
  /** BN running mean/var initializers. */
  buffers: string[];
  /** Train mode: names of the graph outputs holding the updated running stats, in `buffers` order (else empty). */
  runningStatOutputs: string[];
}

export interface BuiltValues {
  logits: Value;
  rep: Value;
  layers: Layers;
}

export function parseArch(name: string): ArchSpec {
  switch (name) {
    case "small-cnn":
      return { kind: "small-cnn" };
    case "resnet18":
      return { kind: "resnet", depth: 18 };
    case "resnet50":
      return { kind: "resnet", depth: 50 };
    case "preact-resnet18":
      return { kind: "preact-resnet", depth: 18 };
  }
  const m = /^wrn-(\d+)-(\d+)$/.exec(name);
  if (m) {
    const depth = Number(m[1]),
      k = Number(m[2]);
    if (depth >= 10 && (depth - 4) % 6 === 0 && k >= 1) return { kind: "wrn", depth, k };
    throw new Error(`architecture "${name}": WideResNet depth must be 6n+4 (10, 16, 22, 28, …) and width ≥ 1`);
  }
  throw new Error(`unknown architecture "${name}" (known: ${ARCH_NAMES.slice(0, 4).join(", ")}, wrn-D-K such as wrn-28-10)`);
}

function checkOptions(o: ModelOptions): void {
  const posInt = (v: number, what: string) => {
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`buildModel: ${what} must be a positive integer, got ${v}`);
  };
  posInt(o.inChannels, "inChannels");
  posInt(o.imageSize, "imageSize");
  posInt(o.classes, "classes");
  if (o.mean.length !== o.inChannels || o.std.length !== o.inChannels) {
    throw new Error(`buildModel: mean [${o.mean}] and std [${o.std}] need ${o.inChannels} values (one per input channel)`);
  }
  if (!o.std.every((s) => s > 0) || !o.mean.every(Number.isFinite))
    throw new Error(`buildModel: std [${o.std}] must be positive and mean [${o.mean}] finite`);
  const w = o.width ?? 1;
  if (!(Number.isFinite(w) && w > 0)) throw new Error(`buildModel: width must be a positive number, got ${w}`);
}

/** Conv-ReLU-pool ×2 (3×3, 32w and 64w channels, with bias, no BN: small and smooth for gradient checks), fc 128w, ReLU. */
function smallCnn(L: Layers, x: Value, width: number): Value {
  let h = L.maxPool(L.relu(L.conv(x, "conv1", { out: scaled(32, width), kernel: 3, pad: 1, bias: true }), "relu1"), "pool1");
  h = L.maxPool(L.relu(L.conv(h, "conv2", { out: scaled(64, width), kernel: 3, pad: 1, bias: true }), "relu2"), "pool2");
  h = L.b.one("Flatten", [h], { axis: 1 }, "flatten");
  return L.relu(L.linear(h, "fc1", scaled(128, width)), "rep_relu");
}

/** Builds the architecture onto an existing builder from `input` (NCHW, pixels in [0,1]); `given` swaps parameters for values. */
export function buildInto(b: Builder, input: Value, o: ModelOptions & { given?: Readonly<Record<string, Value>> }): BuiltValues {
  checkOptions(o);
  const spec = parseArch(o.arch);
  const width = o.width ?? 1;
  if (spec.kind === "small-cnn" && o.imageSize < 4)
    throw new Error(`buildModel: small-cnn needs images of at least 4×4, got ${o.imageSize}`);
  const L = new Layers(b, { seed: o.seed, mode: o.mode, weights: o.weights, given: o.given });
  const c = o.inChannels;
  const mean = L.param("normalize.mean", [1, c, 1, 1], { kind: "tensor", tensor: tensor("float32", [1, c, 1, 1], o.mean) }, "const");
  const std = L.param("normalize.std", [1, c, 1, 1], { kind: "tensor", tensor: tensor("float32", [1, c, 1, 1], o.std) }, "const");
  for (const [v, want] of [
    [mean, o.mean],
    [std, o.std],
  ] as const) {
    const got = v.data?.data;
    if (got && want.some((m, i) => Math.abs(Math.fround(m) - Number(got[i])) > 1e-7)) {
      throw new Error(`weights: "${v.name}" [${[...got].join(",")}] differs from the requested [${want.join(",")}]`);
    }
  }
  const x = b.one("Div", [b.one("Sub", [input, mean], {}, "normalize.sub"), std], {}, "normalize");
  let rep: Value;
  if (spec.kind === "small-cnn") rep = nameValue(b.graph, smallCnn(L, x, width), "rep");
  else {
    const h =
      spec.kind === "resnet"
        ? resnet(L, x, spec.depth, width)
        : spec.kind === "preact-resnet"
          ? preactResnet18(L, x, width)
          : wideResnet(L, x, spec.depth, spec.k, width);
    rep = L.globalPool(h, "rep");
    if (rep.name !== "rep") throw new Error(`internal: representation got the name "${rep.name}"`);
  }
  const logits = nameValue(b.graph, L.linear(rep, "linear", o.classes), "logits");
  return { logits, rep, layers: L };
}

/** A fresh graph: input "input" [batch,C,H,W], outputs logits, rep (and updated running stats in train mode). */
export function buildModel(o: ModelOptions): BuiltModel {
  const graph = new Graph();
  graph.name = o.arch;
  const input = graph.addInput("input", "float32", ["batch", o.inChannels, o.imageSize, o.imageSize]);
  const { logits, rep, layers } = buildInto(new Builder(graph), input, o);
  const unused = layers.unusedWeights();
  if (unused.length) {
    throw new Error(
      `weights: ${unused
        .slice(0, 3)
        .map((n) => `"${n}"`)
        .join(", ")}${unused.length > 3 ? ` and ${unused.length - 3} more` : ""} match no tensor of ${o.arch} (width ${o.width ?? 1})`,
    );
  }
  graph.outputs = [logits, rep, ...layers.runningStats];
  graph.metadata = {
    arch: JSON.stringify(o.arch),
    classes: JSON.stringify(o.classes),
    mean: JSON.stringify(o.mean),
    std: JSON.stringify(o.std),
    width: JSON.stringify(o.width ?? 1),
  };
  return { graph, params: [...layers.params], buffers: [...layers.buffers], runningStatOutputs: layers.runningStats.map((v) => v.name) };
}
