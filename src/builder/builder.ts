// The one way graphs are built — by model code, importers and VJP rules alike: shape rules and folding run as nodes are added.
import type { OpAttrMap, OpType } from "../ops/attrs.js";
import { OPS } from "../ops/index.js";
import type { InferCtx } from "../ops/types.js";
import { opLabel } from "../ops/util.js";
import { type Graph, Node, type Value } from "../ir/graph.js";
import { type DType, type Tensor, ONNX_DTYPE_CODE, formatShape, tensor } from "../ir/tensor.js";

export interface AddOptions {
  name?: string;
  outputs?: number;
  fold?: boolean;
}

export class Builder {
  private symbols = 0;
  constructor(readonly graph: Graph) {}

  /** Adds one node (or folds it to constants) and returns its outputs. */
  add<K extends OpType>(op: K, inputs: readonly (Value | null)[], attrs: OpAttrMap[K], opts: AddOptions = {}): Value[] {
    const def = OPS[op];
    if (!def) throw new Error(`unsupported op ${op}`);
    const base = opts.name ?? op.toLowerCase();
    const label = opLabel(op, base);
    const ins = [...inputs];
    while (ins.length > 0 && ins[ins.length - 1] === null) ins.pop();
    if (ins.length < def.arity[0] || ins.length > def.arity[1]) {
      throw new Error(`${label}: takes ${def.arity[0]}..${def.arity[1]} inputs, got ${ins.length}`);
    }
    if (ins.some((v, i) => v === null && i < def.arity[0])) throw new Error(`${label}: required input missing`);
    const node = new Node(op, this.graph.uniqueNodeName(base), ins, [], attrs);
    const ctx: InferCtx<K> = { node, inputs: ins, consts: ins.map((v) => v?.data), freshDim: () => `?${++this.symbols}` };
    if (opts.fold !== false && def.fold) {
      const folded = def.fold(ctx);
      if (folded) return folded.map((t, i) => this.constant(t, folded.length > 1 ? `${base}_${i}` : base));
    }
    const types = def.infer(ctx);
    const n = opts.outputs ?? (def.outputs ? def.outputs(node) : types.length);
    // not an invariant: an imported model may name more outputs than the op has
    if (n > types.length) throw new Error(`${label}: has ${types.length} output${types.length === 1 ? "" : "s"}, ${n} are named`);
    node.outputs = types.slice(0, n).map((t, i) => {
      const v = this.graph.newValue(n > 1 ? `${node.name}_${i}` : node.name, t.dtype, t.shape, "node");
      v.producer = node;
      return v;
    });
    this.graph.nodes.push(node as unknown as Node);
    return node.outputs;
  }

  one<K extends OpType>(op: K, inputs: readonly (Value | null)[], attrs: OpAttrMap[K], name?: string): Value {
    return this.add(op, inputs, attrs, { name, outputs: 1 })[0]!;
  }

  constant(t: Tensor, name = "const"): Value {
    return this.graph.newValue(name, t.dtype, [...t.shape], "constant", t);
  }
  scalar(v: number, dtype: DType = "float32"): Value {
    return this.constant(tensor(dtype, [], [v]), "scalar");
  }
  /** A float scalar of the same dtype as `like`. */
  scalarLike(v: number, like: Value): Value {
    return this.scalar(v, like.dtype);
  }
  int64s(vals: readonly number[]): Value {
    return this.constant(tensor("int64", [vals.length], vals), "ints");
  }

  /** Shape of x as an int64 tensor: a constant when static, a Shape node otherwise. */
  shapeOf(x: Value): Value {
    return this.one("Shape", [x], {});
  }

  // elementwise
  addv(a: Value, b: Value): Value {
    return this.one("Add", [a, b], {});
  }
  sub(a: Value, b: Value): Value {
    return this.one("Sub", [a, b], {});
  }
  mul(a: Value, b: Value): Value {
    return this.one("Mul", [a, b], {});
  }
  div(a: Value, b: Value): Value {
    return this.one("Div", [a, b], {});
  }
  neg(x: Value): Value {
    return this.one("Neg", [x], {});
  }
  exp(x: Value): Value {
    return this.one("Exp", [x], {});
  }
  log(x: Value): Value {
    return this.one("Log", [x], {});
  }
  sqrt(x: Value): Value {
    return this.one("Sqrt", [x], {});
  }
  abs(x: Value): Value {
    return this.one("Abs", [x], {});
  }
  sign(x: Value): Value {
    return this.one("Sign", [x], {});
  }
  relu(x: Value): Value {
    return this.one("Relu", [x], {});
  }
  sigmoid(x: Value): Value {
    return this.one("Sigmoid", [x], {});
  }
  pow(x: Value, e: Value): Value {
    return this.one("Pow", [x, e], {});
  }
  clip(x: Value, min: Value | null, max: Value | null): Value {
    return this.one("Clip", [x, min, max], {});
  }
  where(c: Value, a: Value, b: Value): Value {
    return this.one("Where", [c, a, b], {});
  }
  greater(a: Value, b: Value): Value {
    return this.one("Greater", [a, b], {});
  }
  less(a: Value, b: Value): Value {
    return this.one("Less", [a, b], {});
  }
  equal(a: Value, b: Value): Value {
    return this.one("Equal", [a, b], {});
  }
  cast(x: Value, to: DType): Value {
    return this.one("Cast", [x], { to: ONNX_DTYPE_CODE[to] });
  }
  sum(xs: readonly Value[]): Value {
    return xs.length === 1 ? xs[0]! : this.one("Sum", xs, {});
  }
  identity(x: Value, name?: string): Value {
    return this.one("Identity", [x], {}, name);
  }

  // linear algebra and convolution
  matmul(a: Value, b: Value): Value {
    return this.one("MatMul", [a, b], {});
  }
  gemm(a: Value, b: Value, c: Value | null, attrs: OpAttrMap["Gemm"] = {}): Value {
    return this.one("Gemm", [a, b, c], attrs);
  }
  conv(x: Value, w: Value, b: Value | null = null, attrs: OpAttrMap["Conv"] = {}): Value {
    return this.one("Conv", [x, w, b], attrs);
  }

  // movement
  reshape(x: Value, shape: readonly number[] | Value): Value {
    return this.one("Reshape", [x, Array.isArray(shape) ? this.int64s(shape) : (shape as Value)], {});
  }
  transpose(x: Value, perm: readonly number[]): Value {
    return this.one("Transpose", [x], { perm: [...perm] });
  }
  flatten(x: Value, axis = 1): Value {
    return this.one("Flatten", [x], { axis });
  }
  expand(x: Value, shape: Value): Value {
    return this.one("Expand", [x, shape], {});
  }
  unsqueeze(x: Value, axes: readonly number[]): Value {
    return this.one("Unsqueeze", [x, this.int64s(axes)], {});
  }
  squeeze(x: Value, axes: readonly number[]): Value {
    return this.one("Squeeze", [x, this.int64s(axes)], {});
  }
  concat(xs: readonly Value[], axis: number): Value {
    return this.one("Concat", xs, { axis });
  }
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): Value {
    return this.one("Slice", [x, this.int64s(starts), this.int64s(ends), this.int64s(axes), steps ? this.int64s(steps) : null], {});
  }
  pad(x: Value, pads: readonly number[] | Value, value?: Value): Value {
    return this.one("Pad", [x, Array.isArray(pads) ? this.int64s(pads) : (pads as Value), value ?? null], { mode: "constant" });
  }

  // reductions (axes: empty = all)
  reduceSum(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.one("ReduceSum", [x, axes.length ? this.int64s(axes) : null], { keepdims: keepdims ? 1 : 0 });
  }
  reduceMean(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.one("ReduceMean", [x], axes.length ? { axes: [...axes], keepdims: keepdims ? 1 : 0 } : { keepdims: keepdims ? 1 : 0 });
  }
  reduceMax(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.one("ReduceMax", [x], axes.length ? { axes: [...axes], keepdims: keepdims ? 1 : 0 } : { keepdims: keepdims ? 1 : 0 });
  }
  reduceL2(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.one("ReduceL2", [x], axes.length ? { axes: [...axes], keepdims: keepdims ? 1 : 0 } : { keepdims: keepdims ? 1 : 0 });
  }
  softmax(x: Value, axis = -1): Value {
    return this.one("Softmax", [x], { axis });
  }
  logSoftmax(x: Value, axis = -1): Value {
    return this.one("LogSoftmax", [x], { axis });
  }

  /** Zeros with the shape and dtype of x. */
  zerosLike(x: Value): Value {
    return this.one("ConstantOfShape", [this.shapeOf(x)], { value: tensor(x.dtype, [1], [0]) });
  }

  describe(v: Value): string {
    return `"${v.name}" ${formatShape(v.shape)}`;
  }
}
