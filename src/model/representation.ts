// The representation R of a classifier graph, resolved in one place: which value it is and its fake-ReLU node.
import type { Graph, Node, Value } from "../ir/graph.js";

export interface RepChoice {
  /** Value name of R (default: the output named "rep", else the input of the final linear layer). */
  rep?: string;
  /** Pass the gradient straight through the last ReLU before R (default: when one is found; true insists on one). */
  fakeRelu?: boolean;
}

export interface RepresentationInfo {
  /** The value name of R in the model graph. */
  name: string;
  /** Shape of R for one example (without the batch axis). */
  shape: number[];
  /** Name of the last ReLU before R (the fake-ReLU candidate), when one was found. */
  fakeRelu?: string;
  /** Nodes to pass straight through for this choice (the fake ReLU, unless turned off). */
  straightThrough: string[];
}

/** The input of the final Gemm/MatMul producing the logits (through bias Adds / Identity / reshapes). */
export function defaultRepresentation(graph: Graph, logits: Value = graph.outputs[0]!): Value {
  let v: Value = logits;
  for (let guard = 0; guard < 8; guard++) {
    const n = v.producer;
    if (!n) break;
    if (n.op === "Gemm" || n.op === "MatMul") return n.inputs[0]!;
    if (n.op === "Identity" || n.op === "Flatten" || n.op === "Reshape") {
      v = n.inputs[0]!;
      continue;
    }
    if (n.op === "Add") {
      const other = n.inputs.find((u) => u && u.kind === "node");
      if (other) {
        v = other;
        continue;
      }
    }
    break;
  }
  throw new Error(`cannot find the representation: logits "${logits.name}" do not come from a final Gemm/MatMul; name a value with --rep`);
}

// Ops that move or pool activations without changing their sign pattern: a Relu behind them still decides which units are dead.
export const PASS_THROUGH = new Set([
  "Flatten",
  "Reshape",
  "GlobalAveragePool",
  "AveragePool",
  "Identity",
  "ReduceMean",
  "Squeeze",
  "MaxPool",
]);

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

/** R of a graph for a choice: name, per-example shape, fake-ReLU node and the straight-through list. */
export function representationIn(graph: Graph, o: RepChoice = {}): RepresentationInfo {
  const { rep, fakeRelu } = resolveRepresentation(graph, o.rep);
  if (o.fakeRelu === true && !fakeRelu)
    throw new Error(`fake ReLU: no Relu found before representation "${rep.name}" (through ${[...PASS_THROUGH].join("/")} only)`);
  const shape = rep.staticShape;
  if (!shape) throw new Error(`representation "${rep.name}" has no static shape`);
  return {
    name: rep.name,
    shape: shape.slice(1),
    fakeRelu: fakeRelu?.name,
    straightThrough: o.fakeRelu !== false && fakeRelu ? [fakeRelu.name] : [],
  };
}
