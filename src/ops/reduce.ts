// PLACEHOLDER: being written; every rule here throws.
import type { OpTable } from "./types.js";

type Ks = "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceL2" | "ReduceProd" | "Softmax" | "LogSoftmax" | "ArgMax";
const todo = { attrs: {} as never, arity: [0, 99] as const, infer(): never { throw new Error("internal: op not implemented yet"); }, grad: { kind: "error" as const, why: "not implemented yet" } };
export const reduceOps: OpTable<Ks> = {
  ReduceSum: todo,
  ReduceMean: todo,
  ReduceMax: todo,
  ReduceMin: todo,
  ReduceL2: todo,
  ReduceProd: todo,
  Softmax: todo,
  LogSoftmax: todo,
  ArgMax: todo,
};
