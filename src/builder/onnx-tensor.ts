// TensorProto <-> Tensor, and the onnx-proto handle shared by import and export.
import onnxProto from "onnx-proto";
import { type DType, type Tensor, ONNX_DTYPE_CODE, allocData, dtypeFromOnnx, formatShape, sizeOf, tensor } from "../ir/tensor.js";

export const onnx = onnxProto.onnx;
export type { onnxProto };
export type IAttr = onnxProto.onnx.IAttributeProto;
export type IValueInfo = onnxProto.onnx.IValueInfoProto;
export type INode = onnxProto.onnx.INodeProto;
export type IModel = onnxProto.onnx.IModelProto;
export type ITensor = onnxProto.onnx.ITensorProto;
export type IGraph = onnxProto.onnx.IGraphProto;
export type Long = { toNumber(): number };
export const toNum = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === "number" ? v : v.toNumber());

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

export function tensorToProto(t: Tensor, name: string): onnxProto.onnx.ITensorProto {
  // a view, not a copy: encoding reads it once, and a copy of every weight would add the model's size to each compile
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: [...t.shape], dataType: ONNX_DTYPE_CODE[t.dtype], rawData: bytes };
}

export function protoToTensor(p: onnxProto.onnx.ITensorProto, where: string): Tensor {
  const dtype = dtypeFromOnnx(p.dataType ?? 0, `${where} tensor "${p.name ?? ""}"`);
  const shape = (p.dims ?? []).map(toNum);
  const label = `${where} tensor "${p.name ?? ""}" ${dtype}${formatShape(shape)}`;
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${label}: dimensions must be non-negative integers`);
  const n = sizeOf(shape);
  // the values must be in the file: check the count before allocating, so a huge declared shape allocates nothing
  const stored =
    p.rawData && p.rawData.length > 0
      ? p.rawData.length / BYTES[dtype]
      : ((dtype === "float32" ? p.floatData : dtype === "float64" ? p.doubleData : dtype === "int64" ? p.int64Data : p.int32Data)?.length ??
        0);
  if (!Number.isSafeInteger(n) || n !== stored) throw new Error(`${label}: has ${stored} values, expected ${n}`);
  if (p.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (p.externalData?.length ?? 0) > 0) {
    throw new Error(`${label}: external data files are not supported; re-export with the weights inside the model`);
  }
  const data = allocData(dtype, n);
  if (p.rawData && p.rawData.length > 0) {
    const need = n * BYTES[dtype];
    if (p.rawData.length !== need) throw new Error(`${label}: raw data has ${p.rawData.length} bytes, expected ${need}`);
    new Uint8Array(data.buffer).set(p.rawData);
    return tensor(dtype, shape, data);
  }
  const src: ArrayLike<number | Long> | null | undefined =
    dtype === "float32" ? p.floatData : dtype === "float64" ? p.doubleData : dtype === "int64" ? p.int64Data : p.int32Data;
  const len = src?.length ?? 0;
  if (len !== n) throw new Error(`${label}: has ${len} values, expected ${n}`);
  for (let i = 0; i < n; i++) {
    const v = toNum(src![i]);
    if (dtype === "int64") (data as BigInt64Array)[i] = BigInt(Math.trunc(v));
    else (data as { [i: number]: number })[i] = v;
  }
  if (dtype === "int64" && p.int64Data) {
    // exact int64 values (Long keeps all 64 bits; Number would round INT64_MAX)
    p.int64Data.forEach((v, i) => {
      (data as BigInt64Array)[i] = typeof v === "number" ? BigInt(v) : BigInt((v as unknown as { toString(): string }).toString());
    });
  }
  return tensor(dtype, shape, data);
}
