// PLACEHOLDER: being written; every rule here throws.
import type { OpTable } from "./types.js";

type Ks = "Flatten" | "Reshape" | "Transpose" | "Squeeze" | "Unsqueeze" | "Concat" | "Slice" | "Pad" | "Resize" | "Expand" | "Gather" | "GatherElements" | "ScatterElements" | "Split" | "Tile";
const todo = { attrs: {} as never, arity: [0, 99] as const, infer(): never { throw new Error("internal: op not implemented yet"); }, grad: { kind: "error" as const, why: "not implemented yet" } };
export const movementOps: OpTable<Ks> = {
  Flatten: todo,
  Reshape: todo,
  Transpose: todo,
  Squeeze: todo,
  Unsqueeze: todo,
  Concat: todo,
  Slice: todo,
  Pad: todo,
  Resize: todo,
  Expand: todo,
  Gather: todo,
  GatherElements: todo,
  ScatterElements: todo,
  Split: todo,
  Tile: todo,
};
