// ONNX bytes → Graph: every node goes through the Builder, so shapes are inferred and shape subgraphs fold.
import { escapeControl } from "../util/text.js";
import type { OpType } from "../ops/attrs.js";
import { SUPPORTED_OPS, isSupportedOp } from "../ops/index.js";
import { Builder } from "./builder.js";
import { type Dim, Graph, type Value } from "../ir/graph.js";
import { COMPOSED_OPS } from "./onnx-compose.js";
import { LEGACY_OPS, addNormalized, attrValue } from "./onnx-normalize.js";
import { opLabel } from "../ops/util.js";
import { type IModel, type INode, type IValueInfo, onnx, protoToTensor, toNum } from "./onnx-tensor.js";
import { type Tensor, dtypeFromOnnx, formatShape } from "../ir/tensor.js";

export interface ImportOptions {
  /** Names the model in error messages (default "model.onnx"). */
  source?: string;
  /** Replaces the declared shapes of graph inputs, e.g. { input: [4, 3, 32, 32] } to make every shape static. */
  inputShapes?: Record<string, readonly Dim[]>;
  /** Initializers decoded by an earlier import of the same bytes, reused by name where dtype and shape match (no copy). */
  initializers?: ReadonlyMap<string, Tensor>;
}

export interface ImportResult {
  graph: Graph;
  /** Every ONNX value name (inputs, initializers, node outputs) → its value, folded and pruned ones included. */
  values: Map<string, Value>;
  /** The opset of the default domain the model was written for. */
  opset: number;
}

export const MIN_OPSET = 6;
export const MAX_OPSET = 21;

// names inside a model may hold newlines and terminal controls: escaped, the message stays one harmless line
const firstLine = (e: unknown): string => escapeControl(String((e as Error)?.message ?? e));

/** Imports an ONNX model (opset 6–21) as a Graph at our opset-17 forms. */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): Graph {
  return importOnnxDetailed(bytes, options).graph;
}

/** importOnnx, also returning the value of every ONNX name (constants that folded away included). */
export function importOnnxDetailed(bytes: Uint8Array, options: ImportOptions = {}): ImportResult {
  const source = options.source ?? "model.onnx";
  let model: IModel;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${source}: not a valid ONNX model (${firstLine(e)})`);
  }
  if (!model.graph) throw new Error(`${source}: not a valid ONNX model (no graph)`);
  try {
    const opset = defaultOpset(model, source);
    return { ...build(model, opset, options, source), opset };
  } catch (e) {
    const msg = firstLine(e);
    throw new Error(msg.startsWith(`${source}:`) ? msg : `${source}: ${msg}`);
  }
}

function defaultOpset(model: IModel, source: string): number {
  const imports = model.opsetImport ?? [];
  const found = imports.find((o) => !o.domain || o.domain === "ai.onnx");
  if (!found) {
    const others = imports.map((o) => `"${o.domain}" ${toNum(o.version)}`).join(", ") || "none";
    throw new Error(`${source}: no opset for the default ONNX domain (imports: ${others}); only the default domain is supported`);
  }
  const v = toNum(found.version);
  if (v < MIN_OPSET || v > MAX_OPSET) {
    throw new Error(
      `${source}: opset ${v} of the default ONNX domain is not supported (supported: ${MIN_OPSET}..${MAX_OPSET}); re-export with opset 17`,
    );
  }
  return v;
}

function inputShape(vi: IValueInfo, override: readonly Dim[] | undefined): Dim[] | null {
  const dims = vi.type?.tensorType?.shape?.dim;
  if (override) {
    if (dims && dims.length !== override.length) {
      throw new Error(`inputShapes: input "${vi.name}" has rank ${dims.length}, got ${formatShape(override)}`);
    }
    for (const d of override) {
      if (typeof d === "number" ? !(Number.isInteger(d) && d >= 0) : d.length === 0) {
        throw new Error(`inputShapes: input "${vi.name}": bad dimension ${JSON.stringify(d)} in ${formatShape(override)}`);
      }
    }
    return [...override];
  }
  if (!dims) return null;
  // a dim with neither size nor name gets a symbol of its own
  return dims.map((d, i) => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue == null) return `?${vi.name}.${i}`;
    const v = toNum(d.dimValue);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`"${vi.name}": dimension ${i} is ${v}; sizes must be non-negative`);
    return v;
  });
}

/** Nodes in an order where every input is produced first (models are meant to be sorted; not all are). */
function topoSort(nodes: readonly INode[], available: Set<string>, source: string): INode[] {
  const out: INode[] = [];
  let pending = [...nodes];
  while (pending.length > 0) {
    const next: INode[] = [];
    for (const n of pending) {
      if ((n.input ?? []).every((i) => !i || available.has(i))) {
        out.push(n);
        for (const o of n.output ?? []) if (o) available.add(o);
      } else next.push(n);
    }
    if (next.length === pending.length) {
      const n = next[0]!;
      const missing = (n.input ?? []).find((i) => i && !available.has(i))!;
      const producedLater = nodes.some((m) => (m.output ?? []).includes(missing));
      throw new Error(
        `${source}: ${opLabel(n.opType ?? "?", n.name ?? "")} input "${missing}" ${producedLater ? "is part of a cycle" : "is not a graph input, initializer or node output"}`,
      );
    }
    pending = next;
  }
  return out;
}

function build(model: IModel, opset: number, options: ImportOptions, source: string): { graph: Graph; values: Map<string, Value> } {
  const gp = model.graph!;
  const graph = new Graph();
  if (gp.name) graph.name = gp.name;
  for (const p of model.metadataProps ?? []) if (p.key) graph.metadata[p.key] = p.value ?? "";
  const values = new Map<string, Value>();

  for (const t of gp.initializer ?? []) {
    const name = t.name ?? "";
    const known = options.initializers?.get(name);
    const dims = (t.dims ?? []).map(toNum);
    const same = known && known.dtype === dtypeFromOnnx(t.dataType ?? 0, name) && known.shape.join() === dims.join();
    values.set(name, graph.addInitializer(name, same ? known : protoToTensor(t, "initializer")));
  }
  const overrides = options.inputShapes ?? {};
  const inputNames = new Set((gp.input ?? []).map((v) => v.name ?? ""));
  for (const name of Object.keys(overrides)) {
    if (!inputNames.has(name) || values.has(name)) {
      const real = (gp.input ?? []).map((v) => v.name).filter((n) => n && !values.has(n));
      throw new Error(`inputShapes: no graph input "${name}" (inputs: ${real.join(", ") || "none"})`);
    }
  }
  for (const vi of gp.input ?? []) {
    const name = vi.name ?? "";
    if (values.has(name)) continue; // IR < 4 lists initializers among the inputs
    const tt = vi.type?.tensorType;
    if (!tt) throw new Error(`graph input "${name}" is not a tensor (sequences, maps and optionals are not supported)`);
    const dtype = dtypeFromOnnx(tt.elemType ?? 0, `graph input "${name}"`);
    values.set(name, graph.addInput(name, dtype, inputShape(vi, overrides[name])));
  }

  const nodes = gp.node ?? [];
  for (const n of nodes) {
    const domain = n.domain ?? "";
    if (domain !== "" && domain !== "ai.onnx") {
      const v = (model.opsetImport ?? []).find((o) => o.domain === domain);
      throw new Error(
        `${opLabel(n.opType ?? "?", n.name ?? "")} is in domain "${domain}"${v ? ` (opset ${toNum(v.version)})` : ""}; only the default ONNX domain is supported`,
      );
    }
    const known = isSupportedOp(n.opType ?? "") || Object.hasOwn(LEGACY_OPS, n.opType ?? "") || Object.hasOwn(COMPOSED_OPS, n.opType ?? "");
    if (!known) {
      throw new Error(`unsupported op "${n.opType}" (node "${n.name ?? ""}"); supported: ${SUPPORTED_OPS.join(", ")}`);
    }
  }
  // reserve every node output name first, so builder-made names never take one
  for (const n of nodes) {
    for (const o of n.output ?? []) {
      if (o && (values.has(o) || graph.uniqueName(o) !== o)) throw new Error(`value "${o}" is produced more than once`);
    }
  }

  const b = new Builder(graph);
  for (const n of topoSort(nodes, new Set(values.keys()), source)) {
    // checked by isSupportedOp above; legacy ops (opset < 10) are rewritten by addNormalized
    const op = (LEGACY_OPS[n.opType as keyof typeof LEGACY_OPS] ?? n.opType) as OpType;
    const name = n.name ?? "";
    const where = opLabel(op, name);
    const attrs: Record<string, unknown> = {};
    for (const a of n.attribute ?? []) attrs[a.name ?? ""] = attrValue(a, where);
    const inputs = (n.input ?? []).map((i) => (i ? values.get(i)! : null));
    const outNames = [...(n.output ?? [])];
    while (outNames.length > 0 && !outNames[outNames.length - 1]) outNames.pop();
    const compose = Object.hasOwn(COMPOSED_OPS, op) ? COMPOSED_OPS[op] : undefined;
    const outs = compose
      ? compose({ b, inputs, attrs, label: where, opset })
      : addNormalized(b, { op, name, inputs, attrs, outputs: outNames.length, legacy: n.opType !== op ? n.opType! : undefined }, opset);
    outNames.forEach((o, i) => {
      const v = outs[i];
      if (!o) return;
      if (!v) throw new Error(`${where}: output "${o}" was not produced (the op gives ${outs.length})`);
      v.name = o; // reserved above, so unique
      values.set(o, v);
    });
  }

  for (const vi of gp.output ?? []) {
    const v = values.get(vi.name ?? "");
    if (!v) throw new Error(`graph output "${vi.name}" is not produced by any node`);
    graph.outputs.push(v);
  }
  // folding leaves dead nodes behind (a Shape whose consumers all folded): drop them and unused initializers
  graph.prune();
  return { graph, values };
}
