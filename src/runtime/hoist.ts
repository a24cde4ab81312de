// Hoisting what a program computes from its stable inputs alone (a model's weights during an attack: NCHWc weight
// reorders, the flipped weights of input gradients, BN scales) into a program of its own, run once per new weights
// instead of once per run. Works on the final ONNX model (after the NCHWc rewrite), browser-safe.
import type { Graph } from "../ir/graph.js";
import { type IModel, type INode, type IValueInfo, protoToTensor, toNum } from "../builder/onnx-tensor.js";
import { ONNX_DTYPE_CODE } from "../ir/tensor.js";

/** The model split in two: `pre` maps the stable inputs to `values`, which `main` takes as inputs beside the others. */
export interface HoistedModel {
  pre: IModel;
  main: IModel;
  /** Stable inputs `pre` reads. */
  stable: string[];
  /** Outputs of `pre` (inputs of `main`). */
  values: string[];
  /** Graph outputs that `pre` computes (taken from its results, not from `main`'s). */
  outputs: string[];
}

/** Ops whose output has the first input's element type (all that the NCHWc weight reorders and BN folding emit, and more). */
const SAME_TYPE = new Set([
  "Reshape",
  "Transpose",
  "Identity",
  "Slice",
  "Neg",
  "Sqrt",
  "Reciprocal",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Concat",
  "Squeeze",
  "Unsqueeze",
]);
const UNARY = new Set(["Identity", "Neg", "Sqrt", "Reciprocal", "Cast"]);
const BINARY = new Set(["Add", "Sub", "Mul", "Div"]);
// ops whose result is not a function of their inputs
const IMPURE = new Set(["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Dropout"]);
const GRAPH_ATTR = new Set([5, 10]);

type Info = { elemType: number; shape?: number[] };

/**
 * Splits `model` (exported from `graph`, possibly rewritten since: values the IR does not know get their type from the
 * ops above) so that every node whose inputs are stable inputs, initializers or such nodes' outputs runs in `pre`.
 * Undefined when nothing is hoisted or a hoisted value's element type cannot be told.
 */
export function hoistStable(graph: Graph, model: IModel, stableInputs: readonly string[]): HoistedModel | undefined {
  const g = model.graph!;
  const inputs = new Set((g.input ?? []).map((v) => v.name!));
  const stableSet = new Set(stableInputs.filter((n) => inputs.has(n)));
  if (stableSet.size === 0) return undefined;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name!, t]));
  const ir = graph.valuesByName();
  const info = new Map<string, Info>();
  for (const v of g.input ?? []) if (stableSet.has(v.name!)) info.set(v.name!, infoOf(v));
  const known = (name: string): Info | undefined => {
    const v = ir.get(name);
    if (v?.dtype) {
      const s = v.shape;
      return { elemType: ONNX_DTYPE_CODE[v.dtype], shape: s?.every((d) => typeof d === "number") ? (s as number[]) : undefined };
    }
    return info.get(name);
  };
  const constInts = (name: string): number[] | undefined => {
    const t = inits.get(name);
    return t ? [...protoToTensor(t, name).data].map(Number) : undefined;
  };

  const hoisted: INode[] = [],
    kept: INode[] = [];
  const inPre = new Set(stableSet);
  for (const n of g.node ?? []) {
    const ins = (n.input ?? []).filter((i) => i !== "");
    const ok =
      !IMPURE.has(n.opType!) &&
      !(n.attribute ?? []).some((a) => GRAPH_ATTR.has(a.type as number)) &&
      ins.some((i) => inPre.has(i)) &&
      ins.every((i) => inPre.has(i) || inits.has(i));
    const outs = ok ? (n.output ?? []).map((o) => ({ o, t: known(o) ?? derive(n, o) })) : [];
    if (!ok || outs.some((x) => !x.t)) {
      kept.push(n);
      continue;
    }
    for (const { o, t } of outs) {
      info.set(o, t!);
      inPre.add(o);
    }
    hoisted.push(n);
  }
  if (hoisted.length === 0) return undefined;

  function derive(n: INode, out: string): Info | undefined {
    if ((n.output ?? []).length !== 1 || out !== n.output![0]) return undefined;
    const ins = (n.input ?? []).map((i) => (i === "" ? undefined : (known(i) ?? (inits.has(i) ? initInfo(i) : undefined))));
    const a = ins[0];
    if (!a) return undefined;
    const op = n.opType!;
    const cast = op === "Cast" ? toNum((n.attribute ?? []).find((t) => t.name === "to")?.i) : undefined;
    if (!SAME_TYPE.has(op) && cast === undefined) return undefined;
    const elemType = cast ?? a.elemType;
    let shape: number[] | undefined;
    if (UNARY.has(op)) shape = a.shape;
    else if (BINARY.has(op) && a.shape && ins[1]?.shape) shape = broadcast(a.shape, ins[1].shape);
    else if (op === "Reshape" && a.shape) shape = reshaped(a.shape, constInts(n.input![1]!));
    else if (op === "Transpose" && a.shape) {
      const perm = (n.attribute ?? []).find((t) => t.name === "perm")?.ints?.map(toNum) ?? a.shape.map((_, i) => a.shape!.length - 1 - i);
      shape = perm.map((p) => a.shape![p]!);
    }
    return { elemType, shape };
  }
  function initInfo(name: string): Info {
    const t = inits.get(name)!;
    return { elemType: t.dataType!, shape: (t.dims ?? []).map(toNum) };
  }

  const keptInputs = new Set(kept.flatMap((n) => n.input ?? []));
  const outputNames = (g.output ?? []).map((v) => v.name!);
  const values = [...inPre].filter((v) => !stableSet.has(v) && (keptInputs.has(v) || outputNames.includes(v)));
  if (values.length === 0) return undefined;
  const hoistedOutputs = outputNames.filter((v) => inPre.has(v));
  const stable = [...stableSet].filter((s) => hoisted.some((n) => n.input?.includes(s)));
  const used = (nodes: INode[]) => new Set(nodes.flatMap((n) => n.input ?? []));
  const usedPre = used(hoisted),
    usedMain = used(kept);
  const vi = (name: string): IValueInfo => {
    const t = info.get(name)!;
    return {
      name,
      type: { tensorType: { elemType: t.elemType, shape: t.shape ? { dim: t.shape.map((d) => ({ dimValue: d })) } : undefined } },
    };
  };
  const pre: IModel = {
    ...model,
    graph: {
      name: `${g.name ?? "graph"}-stable`,
      node: hoisted,
      initializer: (g.initializer ?? []).filter((t) => usedPre.has(t.name!)),
      input: (g.input ?? []).filter((v) => stable.includes(v.name!)),
      output: values.map(vi),
    },
  };
  const main: IModel = {
    ...model,
    graph: {
      ...g,
      node: kept,
      initializer: (g.initializer ?? []).filter((t) => usedMain.has(t.name!)),
      input: [
        ...(g.input ?? []).filter((v) => !stableSet.has(v.name!) || usedMain.has(v.name!) || outputNames.includes(v.name!)),
        ...values.filter((v) => !hoistedOutputs.includes(v) || usedMain.has(v)).map(vi),
      ],
      output: (g.output ?? []).filter((v) => !hoistedOutputs.includes(v.name!)),
    },
  };
  return { pre, main, stable, values, outputs: hoistedOutputs };
}

function infoOf(v: IValueInfo): Info {
  const t = v.type!.tensorType!;
  const dims = t.shape?.dim;
  const shape = dims?.every((d) => d.dimValue != null) ? dims.map((d) => toNum(d.dimValue)) : undefined;
  return { elemType: t.elemType!, shape };
}

function broadcast(a: readonly number[], b: readonly number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1,
      y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** A Reshape's output shape (0 copies the input's dim, −1 takes the rest). */
function reshaped(x: readonly number[], target: readonly number[] | undefined): number[] | undefined {
  if (!target) return undefined;
  const s = target.map((d, i) => (d === 0 ? x[i]! : d));
  const size = x.reduce((p, d) => p * d, 1);
  const known = s.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  return s.map((d) => (d === -1 ? size / known : d));
}
