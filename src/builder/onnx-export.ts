// Graph -> ONNX ModelProto bytes, at the one opset we emit.
import type { OpType } from "../ops/attrs.js";
import { OPS } from "../ops/index.js";
import { OWN_OPS, ROBUSTLENS_DOMAIN } from "../ops/profile.js";
import type { AttrKind } from "../ops/attrs.js";
import type { Graph, Value } from "../ir/graph.js";
import { type IAttr, type IModel, type INode, type IValueInfo, onnx, tensorToProto } from "./onnx-tensor.js";
import { ONNX_DTYPE_CODE, type Tensor } from "../ir/tensor.js";

export const OPSET = 17;
export const IR_VERSION = 8;

const ATTR_TYPE = onnx.AttributeProto.AttributeType;

function attrProto(name: string, kind: AttrKind, v: unknown): IAttr {
  switch (kind) {
    case "int":
      return { name, type: ATTR_TYPE.INT, i: v as number };
    case "float":
      return { name, type: ATTR_TYPE.FLOAT, f: v as number };
    case "string":
      return { name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(v as string) };
    case "ints":
      return { name, type: ATTR_TYPE.INTS, ints: v as number[] };
    case "floats":
      return { name, type: ATTR_TYPE.FLOATS, floats: v as number[] };
    case "tensor":
      return { name, type: ATTR_TYPE.TENSOR, t: tensorToProto(v as Tensor, name) };
  }
}

function valueInfo(v: Value): IValueInfo {
  const dim = v.shape?.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: ONNX_DTYPE_CODE[v.dtype], shape: dim ? { dim } : undefined } } };
}

export function graphToModelProto(graph: Graph): IModel {
  const initializers = [...graph.initializers, ...graph.constants()].map((v) => tensorToProto(v.data!, v.name));
  const nodes = graph.nodes.map((n): INode => {
    const schema = OPS[n.op as OpType].attrs as Record<string, AttrKind>;
    const attribute: IAttr[] = [];
    for (const [k, v] of Object.entries(n.attrs as Record<string, unknown>)) {
      // Split's num_outputs is internal at opset 17: ORT splits evenly by the output count
      if (v === undefined || (n.op === "Split" && k === "num_outputs")) continue;
      const kind = schema[k];
      if (!kind) throw new Error(`internal: ${n.op} "${n.name}" has attribute "${k}" not in its schema`);
      attribute.push(attrProto(k, kind, v));
    }
    return {
      name: n.name,
      opType: n.op,
      domain: OWN_OPS.has(n.op as OpType) ? ROBUSTLENS_DOMAIN : "",
      input: n.inputs.map((v) => v?.name ?? ""),
      output: n.outputs.map((v) => v.name),
      attribute,
    };
  });
  return {
    irVersion: IR_VERSION,
    producerName: "robustlens",
    opsetImport: [
      { domain: "", version: OPSET },
      ...(graph.nodes.some((n) => OWN_OPS.has(n.op as OpType)) ? [{ domain: ROBUSTLENS_DOMAIN, version: 1 }] : []),
    ],
    metadataProps: Object.entries(graph.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: nodes,
      initializer: initializers,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
}

export function toOnnxBytes(graph: Graph): Uint8Array {
  return onnx.ModelProto.encode(graphToModelProto(graph)).finish();
}
