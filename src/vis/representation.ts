// Representation access for the visualization tools: which value R is, its fake-ReLU node, batched R(x), seeds and unit masks.
import type { Graph, Node, Value } from "../ir/graph.js";
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";
import { concatBatch, sliceBatch } from "../ir/batch.js";
import { forward } from "../model/gradient.js";
import { type Model, defaultRepresentation } from "../model/model.js";
import type { Executor } from "../runtime/executor.js";
import { Rng } from "../util/rng.js";

export interface RepresentationInfo {
  /** The value name of R in the model graph. */
  name: string;
  /** Shape of R for one example (without the batch axis). */
  shape: number[];
  /** Name of the node to pass straight through (the fake ReLU), when one was found. */
  fakeRelu?: string;
}

// Ops that move or pool activations without changing their sign pattern: a Relu behind them still decides which units are dead.
const PASS_THROUGH = new Set(["Flatten", "Reshape", "GlobalAveragePool", "AveragePool", "Identity", "ReduceMean", "Squeeze", "MaxPool"]);

/** The last Relu before `rep`, walking back through reshapes and pooling only (undefined when something else intervenes). */
export function fakeReluNode(rep: Value): Node | undefined {
  let v: Value | null = rep;
  for (let guard = 0; v && guard < 64; guard++) {
    const p: Node | null | undefined = v.producer;
    if (!p) return undefined;
    if (p.op === "Relu") return p;
    if (!PASS_THROUGH.has(p.op)) return undefined;
    v = p.inputs[0] ?? null;
  }
  return undefined;
}

/** R in a graph: the named value, else a graph output named "rep", else the input of the final linear layer. */
export function resolveRepresentation(graph: Graph, name?: string): { rep: Value; fakeRelu?: Node } {
  let rep: Value;
  if (name !== undefined) {
    if (!graph.valuesByName().has(name)) throw new Error(`representation "${name}" is not a value of the model graph`);
    rep = graph.value(name);
  } else {
    rep = graph.outputs.find((v) => v.name === "rep") ?? defaultRepresentation(graph);
  }
  if (rep.dtype !== "float32") throw new Error(`representation "${rep.name}" is ${rep.dtype}, not float32`);
  return { rep, fakeRelu: fakeReluNode(rep) };
}

/** Resolves R on the model (batch of one) and reports its name, per-example shape and fake-ReLU node. */
export function representation(model: Model, name?: string): RepresentationInfo {
  const { rep, fakeRelu } = resolveRepresentation(model.graph(1), name);
  const shape = rep.staticShape;
  if (!shape) throw new Error(`representation "${rep.name}" has no static shape ${formatShape(rep.shape)}`);
  return { name: rep.name, shape: shape.slice(1), fakeRelu: fakeRelu?.name };
}

export interface RepChoice {
  /** Value name of R (default: output "rep", else the input of the final linear layer). */
  rep?: string;
  /** Pass the gradient straight through the last ReLU before R (default: when one is found; true insists on one). */
  fakeRelu?: boolean;
}

/** R's name and the straight-through node list for a batch-n graph (the same cached import pgd compiles, so names agree). */
export function repSetup(model: Model, n: number, o: RepChoice): { name: string; shape: number[]; straightThrough: string[] } {
  const { rep, fakeRelu } = resolveRepresentation(model.graph(n), o.rep);
  if (o.fakeRelu === true && !fakeRelu) throw new Error(`fake ReLU: no Relu found before representation "${rep.name}" (through ${[...PASS_THROUGH].join("/")} only)`);
  const use = o.fakeRelu !== false && fakeRelu;
  return { name: rep.name, shape: rep.staticShape!.slice(1), straightThrough: use ? [fakeRelu.name] : [] };
}

/** R(x) for a batch of images, run in chunks of `batchSize` through forward()'s cached programs. */
export async function representationOf(exec: Executor, model: Model, x: Tensor<"float32">, o: { rep?: string; batchSize?: number } = {}): Promise<Tensor<"float32">> {
  const n = model.checkInput(x, "images");
  const bs = Math.max(1, Math.min(o.batchSize ?? 128, n));
  // the value's name does not depend on the batch size
  const { rep } = resolveRepresentation(model.graph(bs), o.rep);
  const parts: Tensor<"float32">[] = [];
  for (let lo = 0; lo < n; lo += bs) parts.push(await forward(exec, model, sliceBatch(x, lo, Math.min(n, lo + bs)), rep.name) as Tensor<"float32">);
  return concatBatch(parts);
}

/** Starting images: "gray" (all 0.5), "noise" (0.5 + N(0, 0.05²), clamped to [0,1], as in the paper) or given images. */
export type Seed = "gray" | "noise" | Tensor<"float32">;

/** n seed images for the model's input; a single given image is repeated. */
export function makeSeeds(model: Model, seed: Seed, n: number, rngSeed = 0): Tensor<"float32"> {
  if (typeof seed !== "string") {
    model.checkInput(seed, "seed");
    if (seed.shape[0] === n) return seed;
    if (seed.shape[0] !== 1) throw new Error(`seed ${formatShape(seed.shape)}: expected ${n} images or one`);
    const data = new Float32Array(n * seed.data.length);
    for (let i = 0; i < n; i++) data.set(seed.data, i * seed.data.length);
    return tensor("float32", [n, ...seed.shape.slice(1)], data) as Tensor<"float32">;
  }
  const dims = model.inputShape.slice(1);
  if (!dims.every((d): d is number => typeof d === "number")) throw new Error(`model input ${formatShape(model.inputShape)} has symbolic image dims: give seed images`);
  const data = new Float32Array(n * dims.reduce((a, b) => a * b, 1)).fill(0.5);
  if (seed === "noise") {
    const rng = new Rng(rngSeed);
    for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, 0.5 + 0.05 * rng.normal()));
  } else if (seed !== "gray") throw new Error(`unknown seed "${seed}" (expected "gray", "noise" or images)`);
  return tensor("float32", [n, ...dims], data) as Tensor<"float32">;
}

/**
 * Weights [N, D] over the flattened R that pick feature f per example: unit f of a vector R [N,D], or the spatial mean of
 * channel f of a map R [N,C,H,W] (so a feature of a conv layer is a channel, as in feature visualization).
 */
export function unitMask(repShape: readonly number[], features: readonly number[]): Tensor<"float32"> {
  const units = repShape[0]!, spatial = repShape.slice(1).reduce((a, b) => a * b, 1), d = units * spatial;
  const data = new Float32Array(features.length * d);
  features.forEach((f, i) => {
    if (!Number.isInteger(f) || f < 0 || f >= units) throw new Error(`feature ${f} is out of range: representation ${formatShape(repShape)} has ${units} features`);
    data.fill(1 / spatial, i * d + f * spatial, i * d + (f + 1) * spatial);
  });
  return tensor("float32", [features.length, d], data) as Tensor<"float32">;
}

/** Per-example activation of the masked feature in R (the JS twin of the graph objective). */
export function featureActivations(rep: Tensor<"float32">, mask: Tensor<"float32">): Float32Array {
  const n = rep.shape[0]!, d = rep.data.length / n;
  if (mask.shape[1] !== d) throw new Error(`feature mask ${formatShape(mask.shape)} does not match representation ${formatShape(rep.shape)}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const m = mask.shape[0] === 1 ? 0 : i;
    for (let j = 0; j < d; j++) s += rep.data[i * d + j]! * mask.data[m * d + j]!;
    out[i] = s;
  }
  return out;
}
