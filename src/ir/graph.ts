// The IR: values (typed, shaped where known), nodes (one ONNX op each) and graphs (ordered, topological).
import type { OpAttrMap, OpType } from "../ops/attrs.js";
import { type DType, type Tensor, formatShape } from "./tensor.js";

/** A dimension: a size, or a symbol (e.g. "batch") standing for a size known only at run time. */
export type Dim = number | string;
export type Shape = readonly Dim[];

export type ValueKind = "input" | "initializer" | "constant" | "node";

export class Value {
  constructor(
    readonly id: number,
    public name: string,
    public dtype: DType,
    /** null when even the rank is unknown. */
    public shape: Shape | null,
    public kind: ValueKind,
    /** The tensor of an initializer or a folded constant. */
    public data: Tensor | undefined = undefined,
    public producer: Node | undefined = undefined,
  ) {}

  get rank(): number | undefined {
    return this.shape?.length;
  }

  /** The shape when every dimension is a number. */
  get staticShape(): number[] | undefined {
    return this.shape && this.shape.every((d) => typeof d === "number") ? (this.shape as number[]) : undefined;
  }

  toString(): string {
    return `"${this.name}" ${this.dtype}${formatShape(this.shape)}`;
  }
}

export class Node<K extends OpType = OpType> {
  constructor(
    readonly op: K,
    public name: string,
    /** null marks an omitted optional input. */
    public inputs: (Value | null)[],
    public outputs: Value[],
    public attrs: OpAttrMap[K],
  ) {}

  input(i: number): Value | null {
    return this.inputs[i] ?? null;
  }
}

export class Graph {
  name = "robustlens";
  inputs: Value[] = [];
  outputs: Value[] = [];
  initializers: Value[] = [];
  nodes: Node[] = [];
  private nextId = 0;
  private readonly names = new Set<string>();
  private readonly nodeNames = new Set<string>();
  /** Extra metadata written to the ONNX model (metadata_props). */
  metadata: Record<string, string> = {};

  /** A fresh unique name derived from `base`. */
  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** A fresh unique node name (node and value names are separate namespaces in ONNX). */
  uniqueNodeName(base: string): string {
    let name = base;
    for (let i = 1; this.nodeNames.has(name); i++) name = `${base}_${i}`;
    this.nodeNames.add(name);
    return name;
  }

  newValue(name: string, dtype: DType, shape: Shape | null, kind: ValueKind, data?: Tensor): Value {
    return new Value(this.nextId++, this.uniqueName(name), dtype, shape, kind, data);
  }

  addInput(name: string, dtype: DType, shape: Shape | null): Value {
    if (this.names.has(name)) throw new Error(`graph input "${name}": name already used`);
    const v = this.newValue(name, dtype, shape, "input");
    this.inputs.push(v);
    return v;
  }

  addInitializer(name: string, t: Tensor): Value {
    if (this.names.has(name)) throw new Error(`initializer "${name}": name already used`);
    const v = this.newValue(name, t.dtype, [...t.shape], "initializer", t);
    this.initializers.push(v);
    return v;
  }

  /** Every value by name: inputs, initializers, constants and node outputs. */
  valuesByName(): Map<string, Value> {
    const m = new Map<string, Value>();
    for (const v of this.inputs) m.set(v.name, v);
    for (const v of this.initializers) m.set(v.name, v);
    for (const n of this.nodes) {
      for (const v of n.inputs) if (v) m.set(v.name, v);
      for (const v of n.outputs) m.set(v.name, v);
    }
    for (const v of this.outputs) m.set(v.name, v);
    return m;
  }

  value(name: string): Value {
    const v = this.valuesByName().get(name);
    if (!v) throw new Error(`no value named "${name}" in graph "${this.name}"`);
    return v;
  }

  /** The nodes that consume each value. */
  consumers(): Map<Value, Node[]> {
    const m = new Map<Value, Node[]>();
    for (const n of this.nodes)
      for (const v of n.inputs)
        if (v) {
          const l = m.get(v);
          if (l) l.push(n);
          else m.set(v, [n]);
        }
    return m;
  }

  /** Drops nodes and initializers that no output depends on. */
  prune(): this {
    const live = new Set<Value>(this.outputs);
    const keep: Node[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (n.outputs.some((o) => live.has(o))) {
        keep.push(n);
        for (const v of n.inputs) if (v) live.add(v);
      }
    }
    this.nodes = keep.reverse();
    this.initializers = this.initializers.filter((v) => live.has(v));
    return this;
  }

  /** Constants (folded values) referenced by nodes or outputs, in first-use order. */
  constants(): Value[] {
    const seen = new Set<Value>();
    const add = (v: Value | null) => {
      if (v && v.kind === "constant") seen.add(v);
    };
    for (const n of this.nodes) n.inputs.forEach(add);
    this.outputs.forEach(add);
    return [...seen];
  }

  /** A deep copy of the structure (tensors shared, they are never mutated) and the old→new value map. */
  clone(): { graph: Graph; map: Map<Value, Value> } {
    const g = new Graph();
    g.name = this.name;
    g.metadata = { ...this.metadata };
    const map = new Map<Value, Value>();
    const copy = (v: Value): Value => {
      let c = map.get(v);
      if (!c) {
        c = g.newValue(v.name, v.dtype, v.shape, v.kind, v.data);
        if (c.name !== v.name) throw new Error(`internal: clone renamed "${v.name}"`);
        map.set(v, c);
      }
      return c;
    };
    g.inputs = this.inputs.map(copy);
    g.initializers = this.initializers.map(copy);
    for (const n of this.nodes) {
      const m = new Node(
        n.op,
        n.name,
        n.inputs.map((v) => (v ? copy(v) : null)),
        n.outputs.map(copy),
        n.attrs,
      );
      g.nodeNames.add(n.name);
      for (const o of m.outputs) o.producer = m;
      g.nodes.push(m);
    }
    g.outputs = this.outputs.map(copy);
    return { graph: g, map };
  }

  /** Turns the named initializers into graph inputs (weights fed at run time), keeping names; returns them. */
  liftInitializers(names: readonly string[]): Value[] {
    const want = new Set(names);
    const lifted = this.initializers.filter((v) => want.has(v.name));
    if (lifted.length !== want.size) {
      const missing = names.filter((n) => !lifted.some((v) => v.name === n));
      throw new Error(`no initializer named ${missing.map((n) => `"${n}"`).join(", ")} in graph "${this.name}"`);
    }
    this.initializers = this.initializers.filter((v) => !want.has(v.name));
    for (const v of lifted) {
      v.kind = "input";
      v.data = undefined;
    }
    this.inputs.push(...lifted);
    return lifted;
  }
}
