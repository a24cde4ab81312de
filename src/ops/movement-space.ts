// DepthToSpace and SpaceToDepth: fixed permutations of NCHW, so each VJP is the inverse reshape–transpose–reshape.
import type { Builder } from "../builder/builder.js";
import type { Node, Value } from "../ir/graph.js";
import { label } from "./movement-util.js";
import type { InferCtx, OpTable, ValueType } from "./types.js";

type SpaceOp = "DepthToSpace" | "SpaceToDepth";

/** Static C, H, W of a rank-4 input (N may be a symbol), or an error naming the node. */
function chw(ctx: { node: Node<SpaceOp> }, x: Value): [number, number, number] {
  const s = x.shape;
  if (!s || s.length !== 4) throw new Error(`${label(ctx)}: input ${x} must have rank 4 (NCHW)`);
  const [, c, h, w] = s;
  if (typeof c !== "number" || typeof h !== "number" || typeof w !== "number")
    throw new Error(`${label(ctx)}: input ${x} needs static C, H and W`);
  return [c, h, w];
}

function spaceInfer(ctx: InferCtx<SpaceOp>): ValueType[] {
  const x = ctx.inputs[0]!;
  if (!x.shape) return [{ dtype: x.dtype, shape: null }];
  const [c, h, w] = chw(ctx, x);
  const b = ctx.node.attrs.blocksize;
  if (!Number.isInteger(b) || b < 1) throw new Error(`${label(ctx)}: blocksize ${b} must be a positive integer`);
  if (ctx.node.op === "DepthToSpace") {
    if (c % (b * b) !== 0) throw new Error(`${label(ctx)}: ${c} channels of ${x} do not divide by blocksize² = ${b * b}`);
    return [{ dtype: x.dtype, shape: [x.shape[0]!, c / (b * b), h * b, w * b] }];
  }
  if (h % b !== 0 || w % b !== 0) throw new Error(`${label(ctx)}: H and W of ${x} do not divide by blocksize ${b}`);
  return [{ dtype: x.dtype, shape: [x.shape[0]!, c * b * b, h / b, w / b] }];
}

/** Reshape to 6-D (0 keeps N), transpose, reshape to `out` (0 keeps N). */
const permute = (g: Builder, v: Value, six: number[], perm: number[], out: number[]): Value =>
  g.reshape(g.transpose(g.reshape(v, [0, ...six]), perm), [0, ...out]);

export const spaceOps: OpTable<SpaceOp> = {
  // DCR: x → [N,b,b,C',H,W] → perm [0,3,4,1,5,2];  CRD: x → [N,C',b,b,H,W] → perm [0,1,4,2,5,3];  dx: the inverse permutation of dy
  DepthToSpace: {
    attrs: { blocksize: "int", mode: "string" },
    arity: [1, 1],
    infer: spaceInfer,
    grad: {
      kind: "vjp",
      vjp: (ctx, [dy]) => {
        const [c, h, w] = chw(ctx, ctx.x[0]!);
        const b = ctx.node.attrs.blocksize,
          co = c / (b * b);
        const mode = ctx.node.attrs.mode ?? "DCR";
        if (mode !== "DCR" && mode !== "CRD") throw new Error(`grad: ${label(ctx)}: mode "${mode}" is not DCR or CRD`);
        const inv = mode === "DCR" ? [0, 3, 5, 1, 2, 4] : [0, 1, 3, 5, 2, 4];
        return [permute(ctx.g, dy!, [co, h, b, w, b], inv, [c, h, w])];
      },
    },
  },
  // x → [N,C,H/b,b,W/b,b] → perm [0,3,5,1,2,4];  dx: dy → [N,b,b,C,H/b,W/b] → perm [0,3,4,1,5,2]
  SpaceToDepth: {
    attrs: { blocksize: "int" },
    arity: [1, 1],
    infer: spaceInfer,
    grad: {
      kind: "vjp",
      vjp: (ctx, [dy]) => {
        const [c, h, w] = chw(ctx, ctx.x[0]!);
        const b = ctx.node.attrs.blocksize;
        return [permute(ctx.g, dy!, [b, b, c, h / b, w / b], [0, 3, 4, 1, 5, 2], [c, h, w])];
      },
    },
  },
};
