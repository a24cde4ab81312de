// The contract every op fulfils: attribute schema, arity, shape rule, optional constant folding, gradient rule.
import type { Builder } from "../builder/builder.js";
import type { Node, Shape, Value } from "../ir/graph.js";
import type { DType, Tensor } from "../ir/tensor.js";
import type { AttrSchema, OpType } from "./attrs.js";
import type { BackendProfile } from "./profile.js";

export interface ValueType {
  dtype: DType;
  shape: Shape | null;
}

export interface InferCtx<K extends OpType> {
  node: Node<K>;
  /** Input values (null where an optional input is omitted). */
  inputs: readonly (Value | null)[];
  /** Constant data of each input where known (initializers and folded constants). */
  consts: readonly (Tensor | undefined)[];
  /** A fresh symbol for a dimension that cannot be known before run time. */
  freshDim(): string;
}

export interface VjpCtx<K extends OpType> {
  g: Builder;
  node: Node<K>;
  /** The node's inputs and outputs (in the graph being differentiated). */
  x: readonly (Value | null)[];
  y: readonly Value[];
  /** Which inputs need a gradient; rules may skip building the others. */
  needs: readonly boolean[];
  /** The backend the gradient graph must run on: rules choose formulations it supports. */
  profile: BackendProfile;
}

/** Gradient of each input (null: none), given the gradient of each output (null: the output does not reach the loss). */
export type VjpRule<K extends OpType> = (ctx: VjpCtx<K>, dy: readonly (Value | null)[]) => (Value | null)[];

export type GradRule<K extends OpType> =
  | { kind: "vjp"; vjp: VjpRule<K> }
  /** Gradient is zero or the path is integer-valued: contributes nothing, never an error. */
  | { kind: "none" }
  /** Differentiating through this op is refused (the reason names what to do instead). */
  | { kind: "error"; why: string };

export interface OpDef<K extends OpType> {
  attrs: AttrSchema<K>;
  /** [min, max] number of inputs. */
  arity: readonly [number, number];
  /** Number of outputs a node of this op has (given how many the model asks for). */
  outputs?: (node: Node<K>) => number;
  infer(ctx: InferCtx<K>): ValueType[];
  /** Evaluates the node in JS when its inputs are constant (shape subgraphs); undefined when it cannot. */
  fold?(ctx: InferCtx<K>): Tensor[] | undefined;
  grad: GradRule<K>;
  /** Inputs that never receive gradients (shape/index operands, running statistics). */
  stopGradient?: readonly number[];
}

export type OpTable<Ks extends OpType> = { [K in Ks]: OpDef<K> };
