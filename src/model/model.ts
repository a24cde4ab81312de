// An imported classifier: its input, logits and representation, with graphs specialized per batch size.
import type { Graph } from "../ir/graph.js";
import { importOnnx } from "../builder/onnx-import.js";
import { type Tensor, formatShape } from "../ir/tensor.js";
import { type RepChoice, type RepresentationInfo, representationIn } from "./representation.js";

export class Model {
  private readonly cache = new Map<number, Graph>();
  /** The weights decoded once: every batch size's graph shares them (ResNet-18: 43 MB, not 43 MB per batch size). */
  private readonly initializers: ReadonlyMap<string, Tensor>;
  readonly inputName: string;
  readonly inputShape: readonly (number | string)[];
  readonly outputName: string;

  constructor(
    readonly bytes: Uint8Array,
    readonly source = "model.onnx",
  ) {
    const g = importOnnx(bytes, { source });
    if (g.inputs.length !== 1)
      throw new Error(`${source}: expected one image input, model has ${g.inputs.length} (${g.inputs.map((v) => v.name).join(", ")})`);
    if (g.outputs.length === 0) throw new Error(`${source}: model has no outputs`);
    const x = g.inputs[0]!;
    if (x.dtype !== "float32" || x.rank !== 4) throw new Error(`${source}: input ${x} is not a float32 NCHW image batch`);
    this.inputName = x.name;
    this.inputShape = x.shape!;
    this.outputName = g.outputs[0]!.name;
    this.initializers = new Map(g.initializers.map((v) => [v.name, v.data!]));
  }

  /** Checks an image batch against the model input and returns its batch size. */
  checkInput(x: Tensor, what = "input"): number {
    const want = this.inputShape;
    const ok = x.shape.length === 4 && want.every((d, i) => i === 0 || typeof d !== "number" || d === x.shape[i]);
    if (!ok) throw new Error(`${what} ${formatShape(x.shape)} does not match model input "${this.inputName}" ${formatShape(want)}`);
    if (x.dtype !== "float32") throw new Error(`${what}: expected float32 images, got ${x.dtype}`);
    if (x.shape[0] === 0) throw new Error(`${what}: a batch of 0 images`);
    for (let i = 0; i < x.data.length; i++)
      if (!Number.isFinite(x.data[i] as number)) throw new Error(`${what}: element ${i} is ${x.data[i]}; images must be finite`);
    return x.shape[0]!;
  }

  /** R for a choice (value name, else output "rep", else the final linear layer's input), as in a batch-n graph. */
  representation(o: RepChoice = {}, n = 1): RepresentationInfo {
    return representationIn(this.graph(n), o);
  }

  /** A fresh graph with every shape static for a batch of n (shape subgraphs folded). */
  graph(n: number): Graph {
    let g = this.cache.get(n);
    if (!g) {
      const inputShapes = { [this.inputName]: [n, ...this.inputShape.slice(1)] };
      g = importOnnx(this.bytes, { source: this.source, inputShapes, initializers: this.initializers });
      this.cache.set(n, g);
    }
    return g.clone().graph;
  }
}
