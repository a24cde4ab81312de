// A stable text form of a graph, for snapshot tests and debugging: one line per input, tensor, node and output.
import type { Graph, Value } from "./graph.js";
import { type Tensor, formatShape, isFloatDType } from "./tensor.js";

export interface PrintOptions {
  /** Append `# "node name"` where a node's name differs from its first output's (default false). */
  nodeNames?: boolean;
}

/** Integer tensors up to this many elements (and float scalars) are printed inline instead of by name. */
const INLINE_INTS = 8;

// Names made of the usual characters print bare; anything else is quoted so lines stay parseable by eye.
const ref = (name: string): string => (/^[\w.:/-]+$/.test(name) ? `%${name}` : `%${JSON.stringify(name)}`);

/** Floats to 7 significant digits: exact for float32 round trips, free of binary noise like 0.10000000149. */
function num(v: number): string {
  if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(7)));
}

const type = (v: Value): string => `${v.dtype}${formatShape(v.shape)}`;

function isTiny(t: Tensor): boolean {
  return isFloatDType(t.dtype) ? t.shape.length === 0 : t.data.length <= INLINE_INTS;
}

function tensorText(t: Tensor): string {
  const head = `${t.dtype}${formatShape(t.shape)}`;
  if (!isTiny(t)) return head;
  const vals = Array.from(t.data as ArrayLike<number | bigint>, (x) => (typeof x === "bigint" ? x.toString() : num(x)));
  return `${head} {${vals.join(",")}}`;
}

function attrText(v: unknown): string {
  if (typeof v === "number") return num(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => attrText(x)).join(",")}]`;
  if (v && typeof v === "object" && "dtype" in v) return tensorText(v as Tensor);
  return JSON.stringify(v);
}

/** A tiny data-backed value prints as its contents; other data-backed values add their shape. */
function operand(v: Value | null): string {
  if (v === null) return "_";
  if (v.data && isTiny(v.data)) return tensorText(v.data);
  if (v.data) return `${ref(v.name)} ${formatShape(v.shape)}`;
  return ref(v.name);
}

/** The graph as text; the same graph always prints the same, and export→import keeps it. */
export function printGraph(graph: Graph, options: PrintOptions = {}): string {
  const lines: string[] = [`graph ${JSON.stringify(graph.name)}`];
  for (const v of graph.inputs) lines.push(`input ${ref(v.name)} : ${type(v)}`);
  // initializers and folded constants export alike (as ONNX initializers), so they print alike
  for (const v of [...graph.initializers, ...graph.constants()]) {
    if (v.data && isTiny(v.data)) continue;
    lines.push(`init ${ref(v.name)} : ${type(v)}`);
  }
  for (const n of graph.nodes) {
    const outs = n.outputs.map((o) => ref(o.name)).join(", ");
    const attrs = Object.entries(n.attrs as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${attrText(v)}`);
    let line = `${outs} = ${n.op}(${n.inputs.map(operand).join(", ")})`;
    if (attrs.length) line += ` {${attrs.join(", ")}}`;
    line += ` : ${n.outputs.map(type).join(", ")}`;
    if (options.nodeNames && n.name !== n.outputs[0]?.name) line += `  # ${JSON.stringify(n.name)}`;
    lines.push(line);
  }
  for (const v of graph.outputs) lines.push(`output ${operand(v)} : ${type(v)}`);
  for (const k of Object.keys(graph.metadata).sort()) lines.push(`meta ${JSON.stringify(k)} = ${JSON.stringify(graph.metadata[k])}`);
  return lines.join("\n") + "\n";
}
