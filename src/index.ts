// Public, browser-safe API: IR, builder, ops registry, autodiff, losses, models, npy.
export { Graph, Node, Value, type Dim, type Shape } from "./ir/graph.js";
export { Builder } from "./ir/builder.js";
export { type DType, type Tensor, tensor, sizeOf } from "./ir/tensor.js";
export { importOnnx } from "./ir/onnx-import.js";
export { toOnnxBytes, OPSET } from "./ir/onnx-export.js";
export { printGraph } from "./ir/print.js";
export { OPS, SUPPORTED_OPS, STOP_GRADIENT_INPUTS } from "./ops/index.js";
export type { OpType, OpAttrMap } from "./ops/attrs.js";
export type { OpDef, GradRule, VjpRule } from "./ops/types.js";
export { grad, unbroadcast, type GradOptions, type GradResult } from "./autodiff/grad.js";
export type { Executor, Program, CompileOptions } from "./runtime/executor.js";
export { Model, defaultRepresentation } from "./model/model.js";
export { crossEntropy, repDistance, sumOverBatch } from "./model/losses.js";
export { forward, inputGradient, type LossSpec } from "./model/gradient.js";
export { parseNpy, serializeNpy, imagesToFloat, labelsToInt64 } from "./data/npy.js";
export { Rng } from "./util/rng.js";
