// The op registry: typed so that a supported op without attrs, shape rule or gradient rule is a compile error.
import type { OpType } from "./attrs.js";
import { convOps } from "./conv.js";
import { einsumOps } from "./einsum.js";
import { elementwiseOps } from "./elementwise.js";
import { lrnOps } from "./lrn.js";
import { matmulOps } from "./matmul.js";
import { movementOps } from "./movement.js";
import { spaceOps } from "./movement-space.js";
import { normOps } from "./norm.js";
import { poolOps } from "./pool.js";
import { reduceOps } from "./reduce.js";
import { scanOps } from "./scan.js";
import { shapeOps } from "./shape.js";
import { trigOps } from "./trig.js";
import type { OpDef } from "./types.js";
import { OWN_OPS } from "./profile.js";

export const OPS: { readonly [K in OpType]: OpDef<K> } = {
  ...elementwiseOps,
  ...matmulOps,
  ...einsumOps,
  ...convOps,
  ...poolOps,
  ...normOps,
  ...lrnOps,
  ...reduceOps,
  ...movementOps,
  ...spaceOps,
  ...shapeOps,
  ...trigOps,
  ...scanOps,
};

/** The ONNX ops robustlens reads and writes (not its own-domain ops, profile.ts OWN_OPS). */
export const SUPPORTED_OPS: readonly OpType[] = (Object.keys(OPS) as OpType[]).filter((op) => !OWN_OPS.has(op)).sort();

export const isSupportedOp = (op: string): op is OpType => Object.prototype.hasOwnProperty.call(OPS, op) && !OWN_OPS.has(op as OpType);
