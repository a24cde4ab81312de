// oneDNN's blocked layout between its kernels: a tensor that only ai.robustlens kernels and element-wise ops read stays in
// nChw16c (the layout oneDNN's convolutions compute in), so chained convolutions skip the reorders around each call
// (20% of a ResNet-18 PGD step's kernel time, bench/README.md "oneDNN convolutions inside ORT"). ORT never sees the
// difference: the logical shape is unchanged, and element-wise ops on tensors of one shape do not depend on the order.
import type { Graph } from "../../ir/graph.js";
import { type IAttr, type IModel, type INode, type ITensor, tensorToProto } from "../../builder/onnx-tensor.js";
import { tensor } from "../../ir/tensor.js";
import { ROBUSTLENS_DOMAIN } from "../../ops/profile.js";

/** ONNX ops that map each element position to the same position (with scalar operands broadcast). */
const ELEMENTWISE = new Set([
  "Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Equal", "Where",
  "Cast", "Relu", "Neg", "Abs", "Sign", "Sqrt", "Exp", "Not", "And", "Or", "Identity",
]); // prettier-ignore
/**
 * The inputs each kernel reads in either layout: Conv x, residual and mask source (in its output's layout: the mask is
 * element-wise), ConvGradData dy, ConvGradWeight x and dy.
 */
const TAKES: Readonly<Record<string, readonly number[]>> = { Conv: [0, 3, 4], ConvGradData: [0], ConvGradWeight: [0, 1] };
/** The kernels whose output can be blocked (ConvGradWeight's is a weight tensor). */
const GIVES = new Set(["Conv", "ConvGradData"]);

type Dims = readonly (number | string | null)[] | null | undefined;
const same = (a: Dims, b: Dims): boolean => !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * `model` (dnnlConvs' rewrite of `graph`) with each kernel told which of its activations are blocked (in_blocked,
 * in1_blocked, res_blocked, out_blocked). A tensor is blocked when every tensor joined to it through element-wise ops is
 * 4-D with static dims and channels a multiple of 16, none is a graph input, output or initializer, and each is made and
 * read only by kernels (at the inputs above) or by those element-wise ops. Weights: see weightsBlocked.
 */
export function blockedLayouts(graph: Graph, model: IModel, stable: ReadonlySet<string> = new Set()): { model: IModel; blocked: number } {
  const dims = new Map<string, Dims>();
  for (const v of [...graph.inputs, ...graph.initializers]) dims.set(v.name, v.shape);
  for (const n of graph.nodes) for (const v of n.outputs) dims.set(v.name, v.shape);
  const g = model.graph!;
  const fixed = new Set([...(g.input ?? []), ...(g.output ?? [])].map((v) => v.name!));
  for (const t of g.initializer ?? []) {
    fixed.add(t.name!);
    // constants the export made (scalars of the VJPs) have no IR value
    if (!dims.has(t.name!)) dims.set(t.name!, (t.dims ?? []).map(Number));
  }
  const parent = new Map<string, string>();
  const find = (a: string): string => {
    let r = a;
    while (parent.has(r)) r = parent.get(r)!;
    if (r !== a) parent.set(a, r);
    return r;
  };
  const union = (a: string, b: string): void => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent.set(ra, rb);
  };
  const bad = new Set<string>();
  const names = new Set<string>();
  const scalar = (name: string): boolean => !!dims.get(name)?.every((d) => d === 1);
  for (const n of g.node ?? []) {
    const ins = n.input ?? [],
      outs = n.output ?? [];
    for (const x of [...ins, ...outs]) if (x) names.add(x);
    if (n.domain === ROBUSTLENS_DOMAIN) {
      const takes = TAKES[n.opType!] ?? [];
      ins.forEach((x, i) => {
        if (x && !takes.includes(i)) bad.add(x);
      });
      if (!GIVES.has(n.opType!)) outs.forEach((x) => bad.add(x));
      if (n.opType === "Conv" && ins[4]) union(ins[4], outs[0]!);
    } else if (ELEMENTWISE.has(n.opType!) && !n.domain) {
      const big = [...ins, ...outs].filter((x) => x && !scalar(x));
      if (big.every((x) => same(dims.get(x), dims.get(big[0]!)))) big.forEach((x) => union(big[0]!, x));
      else big.forEach((x) => bad.add(x));
    } else {
      for (const x of [...ins, ...outs]) if (x) bad.add(x);
    }
  }
  for (const x of names) {
    const d = dims.get(x);
    const fits = d?.length === 4 && d.every((k) => typeof k === "number") && (d[1] as number) % 16 === 0;
    if (!fits || fixed.has(x)) bad.add(x);
  }
  const badRoots = new Set([...bad].map(find));
  const blocked = (x: string | undefined | null): boolean => !!x && names.has(x) && !badRoots.has(find(x));
  const wBlock = weightsBlocked(g, dims, stable);
  const flag = (name: string, on: boolean): IAttr[] => (on ? [{ name, type: 2, i: 1 }] : []);
  const node = (g.node ?? []).flatMap((n): INode[] => {
    if (n.domain !== ROBUSTLENS_DOMAIN) return [n];
    const [i0, i1, , i3] = n.input ?? [];
    const w = n.opType === "Conv" ? wBlock.get(i1!) : undefined;
    const attrs = [
      ...flag("in_blocked", blocked(i0)),
      ...flag("in1_blocked", n.opType === "ConvGradWeight" && blocked(i1)),
      ...flag("res_blocked", n.opType === "Conv" && blocked(i3)),
      ...flag("out_blocked", GIVES.has(n.opType!) && blocked(n.output?.[0])),
      ...flag("w_blocked", !!w),
    ];
    const input = w ? (n.input ?? []).map((x, i) => (i === 1 ? w.name : x)) : n.input;
    const done: INode = attrs.length ? { ...n, input, attribute: [...(n.attribute ?? []), ...attrs] } : n;
    // the weights' reorder is written before their first reader
    const before = w && !w.written ? ((w.written = true), w.nodes) : [];
    return [...before, done];
  });
  const count = [...names].filter(blocked).length;
  const initializer = [...(g.initializer ?? []), ...[...wBlock.values()].flatMap((w) => w.shapes)];
  return { model: { ...model, graph: { ...g, node, initializer } }, blocked: count };
}

type WeightReorder = { name: string; nodes: INode[]; shapes: ITensor[]; written: boolean };

/**
 * Conv weights computed from stable inputs (and constants) alone, read only as the weights of forward kernels, O and C
 * multiples of 16: reordered in the graph to oneDNN's OIhw16i16o, which hoisting runs once per weights, so the kernels
 * skip their per-call reorder.
 */
function weightsBlocked(g: NonNullable<IModel["graph"]>, dims: Map<string, Dims>, stable: ReadonlySet<string>): Map<string, WeightReorder> {
  // once per weights: from stable inputs (and constants). Not constants alone: ORT's folded copy of every weight
  // raised peak RSS by 120 MB on ResNet-18 (forward 374 → 492 MB), for 20 ms of a PGD step
  const consts = new Set<string>((g.initializer ?? []).map((t) => t.name!));
  const fixed = new Set<string>(stable);
  for (const n of g.node ?? []) {
    const ins = (n.input ?? []).filter((x) => x);
    if (ins.every((x) => consts.has(x))) (n.output ?? []).forEach((o) => consts.add(o));
    else if (ins.every((x) => consts.has(x) || fixed.has(x))) (n.output ?? []).forEach((o) => fixed.add(o));
  }
  const onlyWeight = new Map<string, boolean>();
  for (const n of g.node ?? [])
    (n.input ?? []).forEach((x, i) => {
      if (x) onlyWeight.set(x, (onlyWeight.get(x) ?? true) && n.domain === ROBUSTLENS_DOMAIN && n.opType === "Conv" && i === 1);
    });
  for (const v of g.output ?? []) onlyWeight.set(v.name!, false);
  const out = new Map<string, WeightReorder>();
  for (const [name, only] of onlyWeight) {
    const d = dims.get(name);
    if (!only || !fixed.has(name) || d?.length !== 4 || !d.every((k) => typeof k === "number")) continue;
    const [o, c, h, w] = d as number[];
    if (o! % 16 || c! % 16) continue;
    const ints = (suffix: string, v: number[]) => tensorToProto(tensor("int64", [v.length], v), `${name}__${suffix}`);
    const shapes = [ints("blocks", [o! / 16, 16, c! / 16, 16, h! * w!]), ints("dims", [o!, c!, h!, w!])];
    const [a, b, blockedName] = [`${name}__a`, `${name}__b`, `${name}__blocked`];
    const nodes: INode[] = [
      { opType: "Reshape", name: a, input: [name, shapes[0]!.name!], output: [a] },
      { opType: "Transpose", name: b, input: [a], output: [b], attribute: [{ name: "perm", type: 7, ints: [0, 2, 4, 3, 1] }] },
      { opType: "Reshape", name: blockedName, input: [b, shapes[1]!.name!], output: [blockedName] },
    ];
    out.set(name, { name: blockedName, nodes, shapes, written: false });
  }
  return out;
}
