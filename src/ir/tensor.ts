// Host tensors: dense, C-order, shape-checked; the currency between data files, graphs and the runtime.

export type DType = "float32" | "float64" | "int64" | "int32" | "uint8" | "bool";

export interface DataFor {
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export type TensorDataArray = DataFor[DType];

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DataFor[D];
}

export const isFloatDType = (d: DType): d is "float32" | "float64" => d === "float32" || d === "float64";

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: readonly (number | string)[] | null | undefined): string {
  return shape ? `[${shape.join(",")}]` : "[?]";
}

export function allocData<D extends DType>(dtype: D, size: number): DataFor[D] {
  switch (dtype) {
    case "float32":
      return new Float32Array(size) as DataFor[D];
    case "float64":
      return new Float64Array(size) as DataFor[D];
    case "int64":
      return new BigInt64Array(size) as DataFor[D];
    case "int32":
      return new Int32Array(size) as DataFor[D];
    default:
      return new Uint8Array(size) as DataFor[D];
  }
}

/** Builds a tensor, checking that the data length matches the shape. */
export function tensor<D extends DType>(dtype: D, shape: readonly number[], data?: DataFor[D] | ArrayLike<number>): Tensor<D> {
  const n = sizeOf(shape);
  let arr: DataFor[D];
  if (data === undefined) arr = allocData(dtype, n);
  else if (ArrayBuffer.isView(data)) arr = data as DataFor[D];
  else {
    arr = allocData(dtype, n);
    const src = data as ArrayLike<number>;
    if (src.length !== n) throw new Error(`tensor: ${src.length} values do not fill shape ${formatShape(shape)}`);
    for (let i = 0; i < n; i++) (arr as unknown as { [i: number]: number | bigint })[i] = dtype === "int64" ? toInt64(src[i]!) : src[i]!;
  }
  if (arr.length !== n) throw new Error(`tensor: ${arr.length} values do not fill shape ${formatShape(shape)}`);
  return { dtype, shape: [...shape], data: arr };
}

/** Reads element i as a JS number whatever the dtype (int64 via Number). */
export function numberAt(t: Tensor, i: number): number {
  const v = t.data[i]!;
  return typeof v === "bigint" ? Number(v) : v;
}

export function toNumbers(t: Tensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = numberAt(t, i);
  return out;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
/** Number → int64, saturating (Slice's INT64_MAX "to the end" must survive a round trip through Number). */
export function toInt64(n: number): bigint {
  if (n >= 9223372036854775807) return INT64_MAX;
  if (n <= -9223372036854775808) return INT64_MIN;
  return BigInt(Math.trunc(n));
}

/** ONNX TensorProto.DataType codes of the dtypes we carry. */
export const ONNX_DTYPE_CODE: Record<DType, number> = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float64: 11 };
export function dtypeFromOnnx(code: number, where: string): DType {
  for (const [d, c] of Object.entries(ONNX_DTYPE_CODE)) if (c === code) return d as DType;
  throw new Error(`${where}: unsupported ONNX element type ${code} (supported: float32, float64, int64, int32, uint8, bool)`);
}
