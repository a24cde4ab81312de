// NCHWc blocked convolutions for Convs whose weights are not constants (fed or computed: the attack programs of training,
// the train step, input gradients). ORT's NchwcTransformer only rewrites Convs with constant weights; its
// com.microsoft.nchwc Conv kernel just reads the weight tensor, so the graph reorders the weights itself and keeps the
// activations blocked across elementwise ops, per-channel affine ops (inference BatchNormalization, its VJP) and
// per-channel reductions. Layouts (ORT nchwc_schema_defs.cc, nchwc_ops.cc): a blocked activation is a 4-D tensor
// [N, C, H, W] whose memory is [N, C/B, H, W, B]; weights OIhw → [O/B, I/B, h, w, Bi, Bo] (OIhw·B·i·B·o), or
// [O/B, I, h, w, Bo] when the input has fewer than B channels (its input then stays NCHW).
import type { Dim, Graph, Node, Value } from "../ir/graph.js";
import { type IAttr, type IModel, type INode, tensorToProto, toNum } from "../builder/onnx-tensor.js";
import { tensor } from "../ir/tensor.js";

export const NCHWC_DOMAIN = "com.microsoft.nchwc";

/** Elementwise ops that give the same result on any memory layout of same-shaped operands. */
const ELEMENTWISE = new Set([
  "Relu",
  "Neg",
  "Abs",
  "Sqrt",
  "Exp",
  "Log",
  "Reciprocal",
  "Sigmoid",
  "Tanh",
  "LeakyRelu",
  "Identity",
  "Cast",
  "Not",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "Where",
  "Greater",
  "Less",
  "Equal",
  "GreaterOrEqual",
  "LessOrEqual",
  "And",
  "Or",
  "Sum",
  "Max",
  "Min",
]);
const REDUCE = new Set(["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"]);

export interface NchwcOptions {
  /** ORT's NCHWc block: 16 with AVX-512, 8 with AVX2 (MlasNchwcGetBlockSize). */
  block: 8 | 16;
}

/** Counts of what the rewrite did (for tests and profiles). */
export interface NchwcStats {
  convs: number;
  blockedNodes: number;
  reorderInputs: number;
  reorderOutputs: number;
  weightReorders: number;
}

const ints = (name: string, v: readonly number[]): IAttr => ({ name, type: 7, ints: [...v] });
const int = (name: string, v: number): IAttr => ({ name, type: 2, i: v });

/** A 4-D shape [N, C, H, W] with static C, H, W (N may be a symbol), or undefined. */
function shape4(v: Value | null | undefined): readonly Dim[] | undefined {
  const s = v?.shape;
  return s && s.length === 4 && s.slice(1).every((d) => typeof d === "number") && v!.dtype !== "float64" ? s : undefined;
}

/** A Reshape target: a symbolic leading (batch) dim becomes 0 (copy the input's), any other symbol is an error. */
function target(s: readonly Dim[]): number[] {
  return s.map((d, i) => {
    if (typeof d === "number") return d;
    if (i === 0) return 0;
    throw new Error(`internal: symbolic dim ${d} at axis ${i} in an NCHWc reshape`);
  });
}

/** Values computed from graph inputs (not constant-foldable): ORT's own transformer handles Convs on the others. */
function fedValues(graph: Graph): Set<string> {
  const fed = new Set(graph.inputs.map((v) => v.name));
  for (const n of graph.nodes) if (n.inputs.some((v) => v && fed.has(v.name))) for (const o of n.outputs) fed.add(o.name);
  return fed;
}

/** Whether a Conv node can run as an NCHWc Conv on its (non-constant) weights. */
function eligibleConv(n: Node, block: number, fed: ReadonlySet<string>): boolean {
  if (n.op !== "Conv") return false;
  const x = shape4(n.inputs[0]),
    w = shape4(n.inputs[1]),
    y = shape4(n.outputs[0]);
  const a = n.attrs as { group?: number; auto_pad?: string };
  if (!x || !w || !y || (a.group ?? 1) !== 1 || (a.auto_pad && a.auto_pad !== "NOTSET")) return false;
  if (n.inputs[0]!.dtype !== "float32" || !fed.has(n.inputs[1]!.name)) return false;
  const [cout, cin] = w as number[];
  return typeof w[0] === "number" && cout! % block === 0 && (cin! < block || cin! % block === 0);
}

/**
 * The model with eligible Convs as NCHWc Convs on in-graph reordered weights, blocked activations kept across the ops
 * that allow it; `graph` is the IR graph `model` was exported from (same node order). Returns the model unchanged when
 * no Conv qualifies.
 */
export function blockConvs(graph: Graph, model: IModel, opts: NchwcOptions): { model: IModel; stats: NchwcStats } {
  const B = opts.block;
  const stats: NchwcStats = { convs: 0, blockedNodes: 0, reorderInputs: 0, reorderOutputs: 0, weightReorders: 0 };
  const protoNodes = model.graph!.node!;
  if (protoNodes.length !== graph.nodes.length) throw new Error(`internal: ${protoNodes.length} ONNX nodes for ${graph.nodes.length}`);
  const fed = fedValues(graph);
  if (!graph.nodes.some((n) => eligibleConv(n, B, fed))) return { model, stats };

  const out: INode[] = [];
  const inits = [...(model.graph!.initializer ?? [])];
  const used = new Set<string>(graph.valuesByName().keys());
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  const shapeNames = new Map<string, string>();
  const shapeConst = (s: readonly number[]): string => {
    const key = s.join("x");
    let name = shapeNames.get(key);
    if (!name) {
      name = fresh(`nchwc_shape_${key}`);
      inits.push(tensorToProto(tensor("int64", [s.length], s), name));
      shapeNames.set(key, name);
    }
    return name;
  };
  let k = 0;
  const emit = (opType: string, input: string[], outName: string, attribute: IAttr[] = [], domain = ""): string => {
    out.push({ name: `nchwc_${opType}_${k++}`, opType, domain, input, output: [outName], attribute });
    return outName;
  };
  const reshape = (x: string, s: readonly Dim[], name = fresh(`${x}_r`)) => emit("Reshape", [x, shapeConst(target(s))], name);

  // value name → name of its blocked 4-D twin; plain: names whose NCHW value exists (graph inputs, initializers, node outputs run plain)
  const blocked = new Map<string, string>();
  const plain = new Set<string>([...graph.inputs, ...graph.initializers, ...graph.constants()].map((v) => v.name));
  const byName = graph.valuesByName();

  const plainOf = (v: Value): string => {
    if (plain.has(v.name)) return v.name;
    const b = blocked.get(v.name);
    if (!b) throw new Error(`internal: value "${v.name}" has neither a plain nor a blocked form`);
    stats.reorderOutputs++;
    const attrs = [int("channels", v.shape![1] as number)];
    // the reorder kernels are float-only: a blocked mask goes through float
    if (v.dtype === "bool")
      emit(
        "Cast",
        [emit("ReorderOutput", [emit("Cast", [b], fresh(`${b}_f`), [int("to", 1)])], fresh(`${b}_fp`), attrs, NCHWC_DOMAIN)],
        v.name,
        [int("to", 9)],
      );
    else emit("ReorderOutput", [b], v.name, attrs, NCHWC_DOMAIN);
    plain.add(v.name);
    return v.name;
  };
  const blockedOf = (v: Value): string => {
    const b = blocked.get(v.name);
    if (b) return b;
    stats.reorderInputs++;
    if (v.dtype !== "float32") throw new Error(`internal: NCHWc reorder of ${v.dtype} value "${v.name}"`);
    const name = emit("ReorderInput", [plainOf(v)], fresh(`${v.name}_nchwc`), [int("channels_last", 0)], NCHWC_DOMAIN);
    blocked.set(v.name, name);
    return name;
  };
  const weights = new Map<string, string>();
  const weightOf = (w: Value): string => {
    const done = weights.get(w.name);
    if (done) return done;
    const [o, i, h, ww] = w.staticShape!;
    const src = plainOf(w);
    const t =
      i! < B
        ? emit("Transpose", [reshape(src, [o! / B, B, i!, h!, ww!])], fresh(`${w.name}_t`), [ints("perm", [0, 2, 3, 4, 1])])
        : emit("Transpose", [reshape(src, [o! / B, B, i! / B, B, h!, ww!])], fresh(`${w.name}_t`), [ints("perm", [0, 2, 4, 5, 3, 1])]);
    stats.weightReorders++;
    const name = reshape(t, [o!, i!, h!, ww!], fresh(`${w.name}_nchwc`));
    weights.set(w.name, name);
    return name;
  };

  /**
   * How an operand of an elementwise op over [N, C, H, W] enters the blocked computation: its name, its 5-D view
   * [N, C/B, H, W, B] (undefined for a scalar), and whether the 4-D blocked form broadcasts right as it is (same-shaped
   * blocked operands, batch or scalar broadcasts); undefined when it cannot (a plain full-sized operand, odd broadcasts).
   */
  const operand = (v: Value, full: readonly Dim[]): { name: string; view5?: Dim[]; flat: boolean } | undefined => {
    const s = v.shape;
    if (!s || s.length > 4 || s.slice(1).some((d) => typeof d !== "number")) return undefined;
    if (s.every((d) => d === 1)) return { name: plainOf(v), flat: true };
    const p: Dim[] = [...new Array<number>(4 - s.length).fill(1), ...s];
    const [n, c, h, w] = full as [Dim, number, number, number];
    if (p.every((d, i) => d === full[i])) {
      const b = blocked.get(v.name);
      return b ? { name: b, view5: [n, c / B, h, w, B], flat: true } : undefined;
    }
    if (!p.every((d, i) => d === 1 || d === full[i])) return undefined;
    if (p[1] === 1) return { name: plainOf(v), view5: [p[0]!, 1, p[2]!, p[3]!, 1], flat: p[2] === 1 && p[3] === 1 };
    if (p[2] === 1 && p[3] === 1) return { name: plainOf(v), view5: [p[0]!, c / B, 1, 1, B], flat: false };
    return undefined;
  };

  /** Runs an elementwise node on blocked operands; false when some operand does not allow it. */
  const tryElementwise = (n: Node, p: INode): boolean => {
    const y = shape4(n.outputs[0]);
    const yv = n.outputs[0]!;
    if (!y || (y[1] as number) % B !== 0 || n.outputs.length !== 1 || (yv.dtype !== "float32" && yv.dtype !== "bool")) return false;
    if (!n.inputs.some((v) => v && blocked.has(v.name) && shape4(v)?.every((d, i) => d === y[i]))) return false;
    const ops = n.inputs.map((v) => (v ? operand(v, y) : undefined));
    if (ops.some((o) => !o)) return false;
    const five = ops.some((o) => !o!.flat);
    const names = ops.map((o) => (five && o!.view5 ? reshape(o!.name, o!.view5) : o!.name));
    const yName = fresh(`${n.outputs[0]!.name}_nchwc`);
    const res = five ? fresh(`${yName}_5d`) : yName;
    out.push({ ...p, input: names, output: [res] });
    if (five) reshape(res, y, yName);
    blocked.set(n.outputs[0]!.name, yName);
    stats.blockedNodes++;
    return true;
  };

  /** Per-channel reductions of a blocked [N, C, H, W] over batch and space: reduce the 5-D view, reshape (free) to the plain result. */
  const tryReduce = (n: Node, p: INode): boolean => {
    const x = n.inputs[0]!;
    const s = shape4(x);
    if (!s || !blocked.has(x.name) || n.outputs.length !== 1) return false;
    const a = n.attrs as { axes?: number[]; keepdims?: number };
    const axesV = n.op === "ReduceSum" ? n.inputs[1] : undefined;
    const axes = (n.op === "ReduceSum" ? (axesV?.data ? [...axesV.data.data].map(Number) : undefined) : a.axes)?.map((v) =>
      v < 0 ? v + 4 : v,
    );
    if (!axes || axes.includes(1) || !axes.includes(2) || !axes.includes(3)) return false;
    const [sn, sc, sh, sw] = s as [Dim, number, number, number];
    const x5 = reshape(blocked.get(x.name)!, [sn, sc / B, sh, sw, B]);
    const r5 = fresh(`${n.outputs[0]!.name}_5d`);
    const attribute = (p.attribute ?? []).filter((t) => t.name !== "keepdims" && t.name !== "axes");
    attribute.push(int("keepdims", 1));
    const input = [x5];
    if (n.op === "ReduceSum") {
      const an = fresh(`${n.outputs[0]!.name}_axes`);
      inits.push(tensorToProto(tensor("int64", [axes.length], axes), an));
      input.push(an);
    } else attribute.push(ints("axes", axes));
    out.push({ ...p, input, output: [r5], attribute });
    const ys = n.outputs[0]!.shape;
    if (!ys || ys.slice(1).some((d) => typeof d !== "number")) throw new Error(`internal: ${n.op} "${n.name}" output shape unknown`);
    reshape(r5, ys, n.outputs[0]!.name);
    plain.add(n.outputs[0]!.name);
    stats.blockedNodes++;
    return true;
  };

  /** Inference BatchNormalization on a blocked input: y = x·s + t with s = scale/√(var+ε), t = B − mean·s per channel. */
  const tryBatchNorm = (n: Node): boolean => {
    const x = n.inputs[0]!;
    const s = shape4(x);
    if (!s || !blocked.has(x.name) || (n.attrs as { training_mode?: number }).training_mode || n.outputs.length !== 1) return false;
    const [scale, bias, mean, varv] = n.inputs.slice(1).map((v) => plainOf(v!));
    const eps = fresh(`${n.name}_eps`);
    inits.push(tensorToProto(tensor("float32", [], [(n.attrs as { epsilon?: number }).epsilon ?? 1e-5]), eps));
    const sq = emit("Sqrt", [emit("Add", [varv!, eps], fresh(`${n.name}_ve`))], fresh(`${n.name}_sd`));
    const mul = emit("Div", [scale!, sq], fresh(`${n.name}_s`));
    const add = emit("Sub", [bias!, emit("Mul", [mean!, mul], fresh(`${n.name}_ms`))], fresh(`${n.name}_t`));
    const [sn, sc, sh, sw] = s as [Dim, number, number, number];
    const v5 = [sn, sc / B, sh, sw, B],
      c5 = [1, sc / B, 1, 1, B];
    const x5 = reshape(blocked.get(x.name)!, v5);
    const y5 = emit("Add", [emit("Mul", [x5, reshape(mul, c5)], fresh(`${n.name}_xs`)), reshape(add, c5)], fresh(`${n.name}_y5`));
    const yName = reshape(y5, s, fresh(`${n.outputs[0]!.name}_nchwc`));
    blocked.set(n.outputs[0]!.name, yName);
    stats.blockedNodes++;
    return true;
  };

  graph.nodes.forEach((n, idx) => {
    const p = protoNodes[idx]!;
    if (eligibleConv(n, B, fed)) {
      const [x, w, b] = n.inputs;
      const cin = x!.shape![1] as number;
      const input = [cin < B ? plainOf(x!) : blockedOf(x!), weightOf(w!)];
      if (b) input.push(plainOf(b));
      const y = n.outputs[0]!;
      const name = fresh(`${y.name}_nchwc`);
      out.push({ ...p, domain: NCHWC_DOMAIN, input, output: [name] });
      blocked.set(y.name, name);
      stats.convs++;
      return;
    }
    if (ELEMENTWISE.has(n.op) && tryElementwise(n, p)) return;
    if (REDUCE.has(n.op) && tryReduce(n, p)) return;
    if (n.op === "BatchNormalization" && tryBatchNorm(n)) return;
    const input = n.inputs.map((v) => (v ? plainOf(v) : ""));
    out.push({ ...p, input });
    for (const v of n.outputs) plain.add(v.name);
  });
  for (const v of graph.outputs) plainOf(byName.get(v.name) ?? v);
  const opsetImport = [...(model.opsetImport ?? []), { domain: NCHWC_DOMAIN, version: 1 }];
  return { model: { ...model, opsetImport, graph: { ...model.graph, node: out, initializer: inits } }, stats };
}

/** The 64-bit integer of a proto attribute (for tests reading models back). */
export const attrInt = (a: IAttr | undefined): number => toNum(a?.i);
