// ONNX node → our opset-17 forms: attribute decoding, opset 11–21 upgrades, attribute schema checks.
import type { AttrKind, OpType } from "../ops/attrs.js";
import { OPS } from "../ops/index.js";
import type { Builder } from "./builder.js";
import type { Value } from "../ir/graph.js";
import { type IAttr, onnx, protoToTensor, toNum } from "./onnx-tensor.js";
import { type Tensor, numberAt, tensor } from "../ir/tensor.js";
import { growOutput, pinOutputShape } from "./onnx-convtranspose.js";
import { opLabel } from "../ops/util.js";

const AT = onnx.AttributeProto.AttributeType;

/** One ONNX node, its inputs already resolved to values. */
export interface RawNode {
  op: OpType;
  /** The ONNX node name ("" when the model gives none). */
  name: string;
  inputs: (Value | null)[];
  attrs: Record<string, unknown>;
  /** How many outputs the model uses (trailing unnamed ones dropped). */
  outputs: number;
  /** The op the model wrote when it was a legacy one rewritten to `op` (Upsample → Resize). */
  legacy?: string;
}

/** Ops of opsets < 10 that exist today under another name, with the rewrite in addNormalized. */
export const LEGACY_OPS = { Upsample: "Resize" } as const;

const BROADCAST_OPS = new Set(["Add", "Sub", "Mul", "Div", "Pow", "Equal", "Greater", "Less", "And", "Or", "Xor", "PRelu"]);

// Old exporters leave `type` unset; the field that is filled tells us which it is.
function attrType(a: IAttr): number {
  if (a.type) return a.type;
  if (a.ints?.length) return AT.INTS;
  if (a.floats?.length) return AT.FLOATS;
  if (a.strings?.length) return AT.STRINGS;
  if (a.t) return AT.TENSOR;
  if (a.g) return AT.GRAPH;
  if (a.s?.length) return AT.STRING;
  if (a.f) return AT.FLOAT;
  return AT.INT;
}

/** Decodes one AttributeProto by its type; `where` names the node for errors. */
export function attrValue(a: IAttr, where: string): unknown {
  const type = attrType(a);
  switch (type) {
    case AT.FLOAT:
      return a.f ?? 0;
    case AT.INT:
      return toNum(a.i);
    case AT.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array(0));
    case AT.TENSOR:
      return protoToTensor(a.t ?? {}, `${where} attribute "${a.name}"`);
    case AT.FLOATS:
      return [...(a.floats ?? [])];
    case AT.INTS:
      return (a.ints ?? []).map(toNum);
    default:
      throw new Error(
        `${where}: attribute "${a.name}" has type ${AT[type] ?? type}, which is not supported (subgraphs, sparse tensors and string lists are not)`,
      );
  }
}

const constInts = (v: Value | null): number[] | undefined => {
  const t = v?.data;
  if (!t) return undefined;
  const out: number[] = [];
  for (let i = 0; i < t.data.length; i++) out.push(numberAt(t, i));
  return out;
};

const isEmptyConst = (v: Value | null): boolean => v !== null && v.data !== undefined && v.data.data.length === 0;

const take = (attrs: Record<string, unknown>, key: string): unknown => {
  const v = attrs[key];
  delete attrs[key];
  return v;
};

/** Rewrites one node into our opset-17 form, adds it, and returns the values standing for its ONNX outputs. */
export function addNormalized(b: Builder, n: RawNode, opset: number): Value[] {
  const label = opLabel(n.op, n.name);
  const { attrs, inputs } = n;
  const x = inputs[0] ?? null;
  const rank = x?.shape?.length;
  const add = (op: OpType, ins: (Value | null)[], a: Record<string, unknown>): Value[] => {
    checkAttrs(op, label, a);
    return b.add(op, ins, a as never, { name: n.name || undefined, outputs: n.outputs });
  };

  // opset < 6: a memory-planning hint with no effect on the result
  take(attrs, "consumed_inputs");
  if (opset < 7 && BROADCAST_OPS.has(n.op)) {
    // opset < 7: broadcasting was opt-in; `axis` aligned B's dims with A's starting there (numpy aligns the trailing dims)
    const broadcast = take(attrs, "broadcast"),
      axis = take(attrs, "axis") as number | undefined;
    const bv = inputs[1] ?? null,
      rb = bv?.shape?.length;
    if (broadcast && axis !== undefined && rank !== undefined && rb !== undefined) {
      const a = axis < 0 ? axis + rank : axis;
      const trailing = rank - a - rb;
      if (trailing < 0) throw new Error(`${label}: broadcast axis ${axis} does not fit B of rank ${rb} into A of rank ${rank}`);
      if (trailing > 0)
        inputs[1] = b.unsqueeze(
          bv!,
          Array.from({ length: trailing }, (_, i) => rb + i),
        );
    }
  }

  switch (n.op) {
    case "Gemm":
      // opset < 7: C broadcast was opt-in; it is always allowed now
      take(attrs, "broadcast");
      break;
    case "Reshape": {
      // opset < 5 carried the shape as an attribute
      const shape = take(attrs, "shape") as number[] | undefined;
      if (shape !== undefined && !inputs[1]) inputs[1] = b.int64s(shape);
      break;
    }
    case "Slice": {
      // opset < 10 carried starts, ends and axes as attributes
      const starts = take(attrs, "starts") as number[] | undefined,
        ends = take(attrs, "ends") as number[] | undefined;
      const axes = take(attrs, "axes") as number[] | undefined;
      if (starts !== undefined && ends !== undefined) {
        inputs.length = 1;
        inputs.push(b.int64s(starts), b.int64s(ends));
        if (axes !== undefined) inputs.push(b.int64s(axes));
      }
      break;
    }
    case "Squeeze":
    case "Unsqueeze":
    case "ReduceSum": {
      // opset < 13 carried axes as an attribute; 13+ takes them as an int64 input
      const axes = take(attrs, "axes") as number[] | undefined;
      if (axes !== undefined && !inputs[1]) inputs[1] = b.int64s(axes);
      break;
    }
    case "ReduceMean":
    case "ReduceMax":
    case "ReduceMin":
    case "ReduceL2":
    case "ReduceProd":
    case "ReduceL1":
    case "ReduceSumSquare":
    case "ReduceLogSum":
    case "ReduceLogSumExp": {
      // opset 18 moved axes to an input; opset 17 wants the attribute, so the input must be constant
      const noop = take(attrs, "noop_with_empty_axes");
      if (inputs[1]) {
        const axes = constInts(inputs[1]);
        if (!axes) throw new Error(`${label}: axes input "${inputs[1].name}" must be a constant`);
        inputs.length = 1;
        if (axes.length) attrs["axes"] = axes;
      }
      if (noop && !attrs["axes"]) return add("Identity", [x], {});
      break;
    }
    case "Split": {
      const axis = (attrs["axis"] as number | undefined) ?? 0;
      const split = take(attrs, "split") as number[] | undefined;
      if (split !== undefined && !inputs[1]) inputs[1] = b.int64s(split);
      const k = (take(attrs, "num_outputs") as number | undefined) ?? n.outputs;
      if (!inputs[1]) {
        // equal split: give explicit sizes where the axis is static so the rule needs no output count
        const a = rank === undefined ? undefined : axis < 0 ? axis + rank : axis;
        const d = a === undefined ? undefined : x!.shape![a];
        if (typeof d === "number") {
          const chunk = Math.ceil(d / k);
          if (opset < 18 && d % k !== 0) throw new Error(`${label}: cannot split ${d} into ${k} equal parts`);
          inputs[1] = b.int64s(Array.from({ length: k }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk))));
        } else attrs["num_outputs"] = k;
      }
      break;
    }
    case "Pad": {
      // opset < 11 carried pads and the constant value as attributes
      const pads = take(attrs, "pads") as number[] | undefined;
      const value = take(attrs, "value") as number | undefined;
      if (pads !== undefined && !inputs[1]) {
        inputs[1] = b.int64s(pads);
        if (value !== undefined && value !== 0) inputs[2] = b.scalar(value, x!.dtype);
      }
      // opset 18 added an axes input; expand pads to every axis instead
      if (inputs[3]) {
        const axes = constInts(inputs[3]);
        const pads = constInts(inputs[1] ?? null);
        if (!axes || !pads || rank === undefined) {
          throw new Error(`${label}: pads with an axes input need constant pads and axes and an input of known rank`);
        }
        const full = new Array<number>(2 * rank).fill(0);
        axes.forEach((ax, i) => {
          const a = ax < 0 ? ax + rank : ax;
          full[a] = pads[i]!;
          full[a + rank] = pads[i + axes.length]!;
        });
        inputs[1] = b.int64s(full);
        inputs.length = 3;
      }
      break;
    }
    case "Clip": {
      // opset < 11 had min/max attributes
      const min = take(attrs, "min") as number | undefined;
      const max = take(attrs, "max") as number | undefined;
      if (min !== undefined) inputs[1] = b.scalar(min, x!.dtype);
      if (max !== undefined) inputs[2] = b.scalar(max, x!.dtype);
      break;
    }
    case "Dropout": {
      // opset < 12 had a ratio attribute; is_test is from opset < 7
      take(attrs, "is_test");
      const ratio = take(attrs, "ratio") as number | undefined;
      if (ratio !== undefined && !inputs[1]) inputs[1] = b.scalar(ratio, "float32");
      break;
    }
    case "BatchNormalization":
      // attributes of old opsets with no effect in inference
      take(attrs, "spatial");
      take(attrs, "consumed_inputs");
      take(attrs, "is_test");
      break;
    case "Softmax":
    case "LogSoftmax": {
      if (opset >= 13) break;
      // opset < 13 coerced the input to 2-D at `axis` (default 1) and normalized each row
      const axis = (take(attrs, "axis") as number | undefined) ?? 1;
      if (rank === undefined) throw new Error(`${label}: opset ${opset} ${n.op} needs an input of known rank`);
      const a = axis < 0 ? axis + rank : axis;
      if (a === rank - 1) {
        attrs["axis"] = -1;
        break;
      }
      const base = n.name || n.op.toLowerCase();
      const flat = b.one("Flatten", [x], { axis: a }, `${base}/flatten`);
      const y = b.one(n.op, [flat], { axis: -1 }, `${base}/2d`);
      return add("Reshape", [y, b.shapeOf(x!)], {});
    }
    case "Resize": {
      if (n.legacy === "Upsample") {
        // Upsample (opset 7–9): scales as an attribute (7–8) or the second input (9); modes nearest and linear
        const scales = take(attrs, "scales") as number[] | undefined;
        const mode = (take(attrs, "mode") as string | undefined) ?? "nearest";
        if (mode !== "nearest" && mode !== "linear")
          throw new Error(`${label}: Upsample mode "${mode}" is not supported (nearest, linear)`);
        const sc = scales !== undefined ? b.constant(tensor("float32", [scales.length], Float32Array.from(scales))) : (inputs[1] ?? null);
        if (!sc) throw new Error(`${label}: Upsample needs scales`);
        // Upsample's coordinates are Resize's "asymmetric" with floor rounding for nearest
        return add(
          "Resize",
          [x, null, sc],
          mode === "nearest"
            ? { mode, coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" }
            : { mode, coordinate_transformation_mode: "asymmetric" },
        );
      }
      // empty roi/scales are the exporters' way to say "omitted"
      if (isEmptyConst(inputs[1] ?? null)) inputs[1] = null;
      if (isEmptyConst(inputs[2] ?? null)) inputs[2] = null;
      const antialias = take(attrs, "antialias");
      const policy = take(attrs, "keep_aspect_ratio_policy");
      const axes = take(attrs, "axes");
      if (antialias || (policy !== undefined && policy !== "stretch") || axes !== undefined) {
        throw new Error(`${label}: antialias, axes and keep_aspect_ratio_policy (opset 18) are not supported`);
      }
      break;
    }
    case "ConvTranspose": {
      const pinned = pinOutputShape(label, x, inputs[1] ?? null, attrs);
      if (!pinned) break;
      if (pinned.grow.every((v) => v === 0)) return add(n.op, inputs, pinned.attrs);
      const y = add(n.op, inputs.slice(0, 2), pinned.attrs)[0]!;
      return [growOutput(b, y, pinned.grow, inputs[2] ?? null)];
    }
    case "AveragePool": {
      // opset 19 added dilations; opset 17 has none, so only all-ones can be kept
      const dil = take(attrs, "dilations") as number[] | undefined;
      if (dil && dil.some((d) => d !== 1))
        throw new Error(`${label}: dilations ${JSON.stringify(dil)} need opset 19; only 1s are supported`);
      break;
    }
    case "Identity":
      // exporters dedupe equal parameters into Identity(initializer): each becomes its own initializer again (as in the
      // source model), which also avoids an ORT optimizer fault on Identity outputs consumed by gradient nodes
      if (x?.kind === "initializer" && x.data) {
        const copy = b.graph.newValue(`${x.name}_copy`, x.dtype, x.shape, "initializer", x.data);
        b.graph.initializers.push(copy);
        return [copy];
      }
      break;
    case "Cast":
      // opset 19's saturate only affects float8 targets, which we do not carry
      take(attrs, "saturate");
      break;
    default:
      break;
  }
  return add(n.op, inputs, attrs);
}

/** Checks every attribute against the op's schema; ints given for floats (and back) are accepted. */
function checkAttrs(op: OpType, label: string, attrs: Record<string, unknown>): void {
  const schema = OPS[op].attrs as Record<string, AttrKind>;
  for (const [k, v] of Object.entries(attrs)) {
    const kind = schema[k];
    if (!kind) {
      const known = Object.keys(schema).sort().join(", ") || "none";
      throw new Error(`${label}: attribute "${k}" is not supported (${op} takes: ${known})`);
    }
    const ok =
      kind === "int" || kind === "float"
        ? typeof v === "number"
        : kind === "ints" || kind === "floats"
          ? Array.isArray(v)
          : kind === "string"
            ? typeof v === "string"
            : typeof v === "object" && v !== null && "dtype" in (v as Tensor);
    if (!ok) throw new Error(`${label}: attribute "${k}" should be ${kind}, got ${Array.isArray(v) ? "a list" : typeof v}`);
    if (kind === "int") attrs[k] = Math.trunc(v as number);
  }
}
