// Attributes of every supported op, by ONNX op type (opset 17 forms). The key set is the supported-op list.
import type { Tensor } from "../ir/tensor.js";

type None = Record<string, never>;
export type AutoPad = "NOTSET" | "SAME_UPPER" | "SAME_LOWER" | "VALID";

export interface ConvAttrs {
  auto_pad?: AutoPad;
  dilations?: number[];
  group?: number;
  kernel_shape?: number[];
  pads?: number[];
  strides?: number[];
}
export interface ConvTransposeAttrs extends ConvAttrs {
  output_padding?: number[];
  output_shape?: number[];
}
export interface PoolAttrs {
  auto_pad?: AutoPad;
  ceil_mode?: number;
  dilations?: number[];
  kernel_shape: number[];
  pads?: number[];
  strides?: number[];
}
export interface MaxPoolAttrs extends PoolAttrs {
  storage_order?: number;
}
export interface AveragePoolAttrs extends PoolAttrs {
  count_include_pad?: number;
}
export interface ReduceAttrs {
  axes?: number[];
  keepdims?: number;
}
export interface ResizeAttrs {
  mode?: string;
  coordinate_transformation_mode?: string;
  nearest_mode?: string;
  cubic_coeff_a?: number;
  exclude_outside?: number;
  extrapolation_value?: number;
}

export interface OpAttrMap {
  // elementwise
  Add: None;
  Sub: None;
  Mul: None;
  Div: None;
  Pow: None;
  Neg: None;
  Exp: None;
  Log: None;
  Sqrt: None;
  Abs: None;
  Reciprocal: None;
  Mod: { fmod?: number };
  Sign: None;
  Floor: None;
  Ceil: None;
  Round: None;
  Erf: None;
  Relu: None;
  LeakyRelu: { alpha?: number };
  Sigmoid: None;
  Tanh: None;
  Softplus: None;
  Elu: { alpha?: number };
  Selu: { alpha?: number; gamma?: number };
  Celu: { alpha?: number };
  PRelu: None;
  HardSigmoid: { alpha?: number; beta?: number };
  HardSwish: None;
  ThresholdedRelu: { alpha?: number };
  Softsign: None;
  Shrink: { bias?: number; lambd?: number };
  Sin: None;
  Cos: None;
  Tan: None;
  Asin: None;
  Acos: None;
  Atan: None;
  Sinh: None;
  Cosh: None;
  Asinh: None;
  Acosh: None;
  Atanh: None;
  Clip: None;
  Max: None;
  Min: None;
  Sum: None;
  Mean: None;
  Identity: None;
  Where: None;
  Cast: { to: number; saturate?: number };
  Equal: None;
  Greater: None;
  Less: None;
  GreaterOrEqual: None;
  LessOrEqual: None;
  Not: None;
  And: None;
  Or: None;
  Xor: None;
  Dropout: { seed?: number };
  // matmul
  MatMul: None;
  Gemm: { alpha?: number; beta?: number; transA?: number; transB?: number };
  Einsum: { equation: string };
  // conv and pool
  Conv: ConvAttrs;
  ConvTranspose: ConvTransposeAttrs;
  // robustlens's own (domain ai.robustlens, oneDNN CPU backend only): dW of a 2-D ungrouped Conv from its input and dY
  ConvGradWeight: { kernel_shape: number[]; strides?: number[]; pads?: number[] };
  MaxPool: MaxPoolAttrs;
  MaxUnpool: { kernel_shape: number[]; pads?: number[]; strides?: number[] };
  AveragePool: AveragePoolAttrs;
  GlobalAveragePool: None;
  GlobalMaxPool: None;
  // normalization
  BatchNormalization: { epsilon?: number; momentum?: number; training_mode?: number };
  LayerNormalization: { axis?: number; epsilon?: number; stash_type?: number };
  InstanceNormalization: { epsilon?: number };
  LRN: { alpha?: number; beta?: number; bias?: number; size: number };
  // reductions and softmax
  ReduceSum: { keepdims?: number; noop_with_empty_axes?: number };
  ReduceMean: ReduceAttrs;
  ReduceMax: ReduceAttrs;
  ReduceMin: ReduceAttrs;
  ReduceL2: ReduceAttrs;
  ReduceProd: ReduceAttrs;
  ReduceL1: ReduceAttrs;
  ReduceSumSquare: ReduceAttrs;
  ReduceLogSum: ReduceAttrs;
  ReduceLogSumExp: ReduceAttrs;
  Softmax: { axis?: number };
  LogSoftmax: { axis?: number };
  ArgMax: { axis?: number; keepdims?: number; select_last_index?: number };
  ArgMin: { axis?: number; keepdims?: number; select_last_index?: number };
  TopK: { axis?: number; largest?: number; sorted?: number };
  // movement
  Flatten: { axis?: number };
  Reshape: { allowzero?: number };
  Transpose: { perm?: number[] };
  Squeeze: None;
  Unsqueeze: None;
  Concat: { axis: number };
  Slice: None;
  Pad: { mode?: string };
  Resize: ResizeAttrs;
  Expand: None;
  Gather: { axis?: number };
  GatherElements: { axis?: number };
  ScatterElements: { axis?: number; reduction?: string };
  Split: { axis?: number; num_outputs?: number };
  Tile: None;
  CumSum: { exclusive?: number; reverse?: number };
  Trilu: { upper?: number };
  DepthToSpace: { blocksize: number; mode?: string };
  SpaceToDepth: { blocksize: number };
  // shape and constants
  Shape: { start?: number; end?: number };
  Size: None;
  ConstantOfShape: { value?: Tensor };
  Range: None;
  Constant: { value?: Tensor; value_float?: number; value_floats?: number[]; value_int?: number; value_ints?: number[] };
}

export type OpType = keyof OpAttrMap;

/** The ONNX attribute type each attribute is written with; checked complete per op at compile time. */
export type AttrKind = "int" | "float" | "string" | "ints" | "floats" | "tensor";
export type AttrSchema<K extends OpType> = { readonly [A in keyof OpAttrMap[K]]-?: AttrKind };
