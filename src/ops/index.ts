// The op registry: typed so that a supported op without attrs, shape rule or gradient rule is a compile error.
import type { OpType } from "./attrs.js";
import { convOps } from "./conv.js";
import { elementwiseOps } from "./elementwise.js";
import { matmulOps } from "./matmul.js";
import { movementOps } from "./movement.js";
import { normOps } from "./norm.js";
import { poolOps } from "./pool.js";
import { reduceOps } from "./reduce.js";
import { shapeOps } from "./shape.js";
import type { OpDef } from "./types.js";

export const OPS: { readonly [K in OpType]: OpDef<K> } = {
  ...elementwiseOps, ...matmulOps, ...convOps, ...poolOps, ...normOps, ...reduceOps, ...movementOps, ...shapeOps,
};

export const SUPPORTED_OPS: readonly OpType[] = Object.keys(OPS).sort() as OpType[];

export const isSupportedOp = (op: string): op is OpType => Object.prototype.hasOwnProperty.call(OPS, op);

/** Inputs that never receive gradients (shape/index operands, running statistics), by op. */
export const STOP_GRADIENT_INPUTS: { readonly [K in OpType]?: readonly number[] } = {
  Reshape: [1], Expand: [1], Squeeze: [1], Unsqueeze: [1], Tile: [1], Slice: [1, 2, 3, 4], Pad: [1, 2, 3],
  Resize: [1, 2, 3], MaxUnpool: [1, 2], Gather: [1], GatherElements: [1], ScatterElements: [1], Split: [1], Where: [0],
  Clip: [1, 2], BatchNormalization: [3, 4], ConstantOfShape: [0], Dropout: [1, 2], ReduceSum: [1],
};
