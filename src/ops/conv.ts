// PLACEHOLDER: being written; every rule here throws.
import type { OpTable } from "./types.js";

type Ks = "Conv" | "ConvTranspose";
const todo = { attrs: {} as never, arity: [0, 99] as const, infer(): never { throw new Error("internal: op not implemented yet"); }, grad: { kind: "error" as const, why: "not implemented yet" } };
export const convOps: OpTable<Ks> = {
  Conv: todo,
  ConvTranspose: todo,
};
