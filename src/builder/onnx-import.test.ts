import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseNpy } from "../data/npy.js";
import { nodeExecutor } from "../runtime/node.js";
import type { Graph } from "../ir/graph.js";
import { toOnnxBytes } from "./onnx-export.js";
import { importOnnx, importOnnxDetailed } from "./onnx-import.js";
import { type IAttr, type INode, type ITensor, type IValueInfo, onnx, tensorToProto } from "./onnx-tensor.js";
import { printGraph } from "../ir/print.js";
import { type Tensor, tensor } from "../ir/tensor.js";

// --- building small ONNX models by hand ---
const AT = onnx.AttributeProto.AttributeType;
const int = (name: string, i: number): IAttr => ({ name, type: AT.INT, i });
const ints = (name: string, v: number[]): IAttr => ({ name, type: AT.INTS, ints: v });
const str = (name: string, s: string): IAttr => ({ name, type: AT.STRING, s: new TextEncoder().encode(s) });
const node = (opType: string, input: string[], output: string[], attribute: IAttr[] = [], name = output[0]!): INode => ({
  opType,
  input,
  output,
  attribute,
  name,
});
const vi = (name: string, dims: (number | string)[] | null, elemType = 1): IValueInfo => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: dims ? { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } : undefined,
    },
  },
});
const i64 = (name: string, v: number[]): ITensor => tensorToProto(tensor("int64", [v.length], v), name);

interface Spec {
  opset?: number;
  nodes: INode[];
  inputs: IValueInfo[];
  outputs: string[];
  inits?: ITensor[];
  imports?: { domain: string; version: number }[];
  metadata?: Record<string, string>;
}
function model(s: Spec): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: s.opset ?? 17 }, ...(s.imports ?? [])],
    metadataProps: Object.entries(s.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: { name: "t", node: s.nodes, input: s.inputs, output: s.outputs.map((o) => vi(o, null)), initializer: s.inits ?? [] },
  }).finish();
}

function throwsOneLine(f: () => unknown, re: RegExp): void {
  assert.throws(f, (e: Error) => {
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    return true;
  });
}

async function run(graph: Graph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const prog = await nodeExecutor.compile(graph); // exports with toOnnxBytes
  try {
    return await prog.run(feeds);
  } finally {
    await prog.dispose();
  }
}

function assertClose(got: Tensor, want: ArrayLike<number>, atol: number, what: string): void {
  assert.equal(got.data.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(Number(got.data[i]) - want[i]!));
  assert.ok(worst <= atol, `${what}: max abs error ${worst} > ${atol}`);
}

const seq = (n: number, f = (i: number) => i): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));

// --- errors ---
test("garbage bytes: one-line 'not a valid ONNX model'", () => {
  throwsOneLine(
    () => importOnnx(new TextEncoder().encode("this is not an onnx file at all")),
    /^model\.onnx: not a valid ONNX model \(.+\)$/,
  );
  throwsOneLine(() => importOnnx(new Uint8Array(0), { source: "empty.onnx" }), /^empty\.onnx: not a valid ONNX model \(/);
});

test("unsupported op: one line naming op, node and the supported list", () => {
  const bytes = model({ nodes: [node("Foo", ["x"], ["y"], [], "bar")], inputs: [vi("x", [2])], outputs: ["y"] });
  throwsOneLine(() => importOnnx(bytes), /^model\.onnx: unsupported op "Foo" \(node "bar"\); supported: Abs, .*Add, .*Einsum, .*Transpose/);
});

test("unsupported opset or domain: one line naming them", () => {
  const spec = (opset: number): Spec => ({ opset, nodes: [node("Relu", ["x"], ["y"])], inputs: [vi("x", [2])], outputs: ["y"] });
  throwsOneLine(
    () => importOnnx(model(spec(5))),
    /^model\.onnx: opset 5 of the default ONNX domain is not supported \(supported: 6\.\.21\)/,
  );
  throwsOneLine(() => importOnnx(model(spec(22))), /opset 22 of the default ONNX domain is not supported/);
  const ms = model({
    ...spec(17),
    imports: [{ domain: "com.microsoft", version: 1 }],
    nodes: [{ ...node("FusedGemm", ["x"], ["y"]), domain: "com.microsoft" }],
  });
  throwsOneLine(
    () => importOnnx(ms),
    /^model\.onnx: FusedGemm "y" is in domain "com\.microsoft" \(opset 1\); only the default ONNX domain/,
  );
});

test("unknown attribute, missing input, bad inputShapes: one-line errors", () => {
  const extra = model({ nodes: [node("Relu", ["x"], ["y"], [int("foo", 1)], "r")], inputs: [vi("x", [2])], outputs: ["y"] });
  throwsOneLine(() => importOnnx(extra), /^model\.onnx: Relu "r": attribute "foo" is not supported/);
  const dangling = model({ nodes: [node("Relu", ["nope"], ["y"])], inputs: [vi("x", [2])], outputs: ["y"] });
  throwsOneLine(() => importOnnx(dangling), /Relu "y" input "nope" is not a graph input, initializer or node output/);
  const ok = model({ nodes: [node("Relu", ["x"], ["y"])], inputs: [vi("x", ["n", 2])], outputs: ["y"] });
  throwsOneLine(() => importOnnx(ok, { inputShapes: { z: [1] } }), /inputShapes: no graph input "z" \(inputs: x\)/);
  throwsOneLine(() => importOnnx(ok, { inputShapes: { x: [1, 2, 3] } }), /inputShapes: input "x" has rank 2/);
});

// --- structure ---
test("inputs, initializers, names, metadata and unsorted nodes", async () => {
  const bytes = model({
    nodes: [node("Mul", ["h", "w"], ["out"], [], "mul_node"), node("Add", ["x", "x"], ["h"], [], "add_node")],
    inputs: [vi("x", ["batch", 3]), vi("w", [3])],
    inits: [tensorToProto(tensor("float32", [3], [1, 2, 3]), "w")],
    outputs: ["out"],
    metadata: { author: "me" },
  });
  const { graph, values } = importOnnxDetailed(bytes);
  assert.deepEqual(
    graph.inputs.map((v) => v.name),
    ["x"],
  ); // "w" is an initializer listed among inputs
  assert.deepEqual(graph.inputs[0]!.shape, ["batch", 3]);
  assert.deepEqual(
    graph.initializers.map((v) => v.name),
    ["w"],
  );
  assert.deepEqual(
    graph.nodes.map((n) => `${n.op}:${n.name}:${n.outputs[0]!.name}`),
    ["Add:add_node:h", "Mul:mul_node:out"],
  );
  assert.equal(graph.value("h"), values.get("h"));
  assert.deepEqual(graph.outputs[0]!.shape, ["batch", 3]);
  assert.deepEqual(graph.metadata, { author: "me" });
  assert.deepEqual(importOnnx(bytes, { inputShapes: { x: [2, 3] } }).outputs[0]!.shape, [2, 3]);
  const res = await run(graph, { x: tensor("float32", [2, 3], [1, 1, 1, 2, 2, 2]) });
  assertClose(res["out"]!, [2, 4, 6, 4, 8, 12], 0, "out");
});

test("initializers decoded by an earlier import are reused where dtype and shape match, else decoded", () => {
  const bytes = model({
    nodes: [node("Mul", ["x", "w"], ["out"])],
    inputs: [vi("x", ["batch", 3])],
    inits: [tensorToProto(tensor("float32", [3], [1, 2, 3]), "w")],
    outputs: ["out"],
  });
  const known = importOnnx(bytes).initializers[0]!.data!;
  assert.equal(importOnnx(bytes, { initializers: new Map([["w", known]]) }).initializers[0]!.data, known);
  for (const other of [tensor("float32", [1, 3], [1, 2, 3]), tensor("float64", [3], [1, 2, 3])]) {
    const got = importOnnx(bytes, { initializers: new Map([["w", other]]) }).initializers[0]!.data!;
    assert.notEqual(got, other);
    assert.deepEqual([got.dtype, got.shape, [...got.data]], ["float32", [3], [1, 2, 3]]);
  }
});

test("missing dims get their own symbols", () => {
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      node: [node("Relu", ["x"], ["y"])],
      input: [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: [{}, { dimValue: 2 }] } } } }],
      output: [vi("y", null)],
    },
  }).finish();
  assert.deepEqual(importOnnx(bytes).inputs[0]!.shape, ["?x.0", 2]);
});

// --- opset normalization, checked by running the result ---
test("opset 11 forms: Unsqueeze/ReduceSum axes attributes, 2-D Softmax, Split attribute, Dropout ratio", async () => {
  const bytes = model({
    opset: 11,
    nodes: [
      node("Unsqueeze", ["x"], ["u"], [ints("axes", [0])]), // [1,2,3,2]
      node("ReduceSum", ["u"], ["rs"], [ints("axes", [0, 3]), int("keepdims", 0)]), // [2,3]
      node("Softmax", ["x"], ["sm"], [int("axis", 1)]), // rows of 6
      node("Split", ["x"], ["s0", "s1"], [int("axis", 1), ints("split", [1, 2])]),
      node("Dropout", ["x"], ["d"], [{ name: "ratio", type: AT.FLOAT, f: 0.5 }]),
    ],
    inputs: [vi("x", [2, 3, 2])],
    outputs: ["rs", "sm", "s0", "s1", "d"],
  });
  const graph = importOnnx(bytes);
  const x = seq(12, (i) => i / 4);
  const res = await run(graph, { x: tensor("float32", [2, 3, 2], x) });
  assertClose(res["rs"]!, [0.25, 1.25, 2.25, 3.25, 4.25, 5.25], 1e-6, "ReduceSum");
  const sm: number[] = [];
  for (let r = 0; r < 2; r++) {
    const row = Array.from(x.subarray(6 * r, 6 * r + 6));
    const z = row.reduce((a, v) => a + Math.exp(v), 0);
    sm.push(...row.map((v) => Math.exp(v) / z));
  }
  assertClose(res["sm"]!, sm, 1e-6, "Softmax");
  assert.deepEqual(res["sm"]!.shape, [2, 3, 2]);
  assertClose(res["s0"]!, [0, 0.25, 1.5, 1.75], 0, "Split 0");
  assert.deepEqual(res["s1"]!.shape, [2, 2, 2]);
  assertClose(res["d"]!, x, 0, "Dropout");
});

test("opset 18 forms: reduce axes input, noop_with_empty_axes, Pad axes, Split num_outputs", async () => {
  const bytes = model({
    opset: 18,
    nodes: [
      node("ReduceMean", ["x", "ax"], ["rm"], [int("keepdims", 0)]),
      node("ReduceMax", ["x"], ["same"], [int("noop_with_empty_axes", 1)]),
      node("Pad", ["x", "pads", "", "padaxes"], ["p"], [str("mode", "constant")]),
      node("Split", ["x"], ["a", "b"], [int("axis", 1), int("num_outputs", 2)]),
    ],
    inputs: [vi("x", [2, 4])],
    inits: [i64("ax", [1]), i64("pads", [1, 2]), i64("padaxes", [-1])],
    outputs: ["rm", "same", "p", "a", "b"],
  });
  const graph = importOnnx(bytes);
  assert.equal(graph.value("same").producer?.op, "Identity");
  const res = await run(graph, { x: tensor("float32", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]) });
  assertClose(res["rm"]!, [2.5, 6.5], 1e-6, "ReduceMean");
  assertClose(res["same"]!, [1, 2, 3, 4, 5, 6, 7, 8], 0, "noop");
  assertClose(res["p"]!, [0, 1, 2, 3, 4, 0, 0, 0, 5, 6, 7, 8, 0, 0], 0, "Pad");
  assertClose(res["b"]!, [3, 4, 7, 8], 0, "Split");
});

test("opset 11 Constant nodes fold; an empty roi/scales means omitted; names that collide stay mapped", async () => {
  const f32 = (name: string, dims: number[], v: number[]): IAttr => ({
    name,
    type: AT.TENSOR,
    t: tensorToProto(tensor("float32", dims, v), name),
  });
  const bytes = model({
    opset: 11,
    nodes: [
      node("Constant", [], ["roi"], [f32("value", [0], [])], "c0"),
      node("Constant", [], ["scales"], [f32("value", [4], [1, 1, 2, 2])], "c1"),
      node("Resize", ["x", "roi", "scales"], ["up"], [str("mode", "nearest")], "y"), // node name = another value's name
      node("Relu", ["up"], ["y"], [], "up"),
    ],
    inputs: [vi("x", [1, 1, 2, 2])],
    outputs: ["y"],
  });
  const { graph, values } = importOnnxDetailed(bytes);
  assert.deepEqual(
    graph.nodes.map((n) => n.op),
    ["Resize", "Relu"],
  );
  assert.deepEqual(values.get("scales")?.data?.shape, [4]); // folded away, still mapped
  const resize = graph.value("up").producer!;
  assert.equal(resize.inputs[1], null);
  assert.equal(graph.value("y").producer?.op, "Relu");
  const res = await run(graph, { x: tensor("float32", [1, 1, 2, 2], [1, 2, 3, 4]) });
  assertClose(res["y"]!, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], 0, "Resize");
});

test("opset 18 reduce axes must be constant: one-line error", () => {
  const bytes = model({
    opset: 18,
    nodes: [node("ReduceMean", ["x", "ax"], ["y"], [], "rm")],
    inputs: [vi("x", [2, 3]), vi("ax", [1], 7)],
    outputs: ["y"],
  });
  throwsOneLine(() => importOnnx(bytes), /^model\.onnx: ReduceMean "rm": axes input "ax" must be a constant$/);
});

// --- PyTorch fixtures ---
const fixture = (name: string, file: string) => readFileSync(`test/fixtures/${name}/${file}`);
const meta = (name: string) => JSON.parse(fixture(name, "meta.json").toString("utf8")) as { input_shape: number[]; batch: number };

for (const name of ["smallnet", "cifar_bottleneck"]) {
  for (const specialize of [true, false]) {
    test(`${name}: import → export reproduces PyTorch logits (${specialize ? "batch 4" : "symbolic batch"})`, async () => {
      const m = meta(name);
      const opts = specialize ? { inputShapes: { input: [m.batch, ...m.input_shape] } } : {};
      const graph = importOnnx(fixture(name, "model.onnx"), opts);
      if (specialize) {
        // every shape is static, so the shape subgraphs (smallnet's dynamic Pad) fold away
        const ops = new Set(graph.nodes.map((n) => n.op));
        for (const op of ["Shape", "Gather", "ConstantOfShape", "Constant", "Cast"])
          assert.ok(!ops.has(op as never), `${op} left: ${printGraph(graph)}`);
        assert.deepEqual(graph.outputs[0]!.shape, [m.batch, 10]);
      } else assert.deepEqual(graph.outputs[0]!.shape, ["batch", 10]);
      assert.equal(graph.outputs[0]!.name, "logits");
      assert.equal(graph.value("/conv1/Conv_output_0").producer?.op, "Conv");
      const x = parseNpy(fixture(name, "x.npy"));
      const want = parseNpy(fixture(name, "logits.npy"));
      const res = await run(graph, { input: x });
      assertClose(res["logits"]!, want.data as Float32Array, 1e-4, `${name} logits`);
    });
  }

  test(`${name}: import → export → import prints the same`, () => {
    for (const opts of [{}, { inputShapes: { input: [4, ...meta(name).input_shape] } }]) {
      const g1 = importOnnx(fixture(name, "model.onnx"), opts);
      const g2 = importOnnx(toOnnxBytes(g1));
      assert.equal(printGraph(g2, { nodeNames: true }), printGraph(g1, { nodeNames: true }));
    }
  });
}
