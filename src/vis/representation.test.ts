import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { toOnnxBytes } from "../builder/onnx-export.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { Model } from "../model/model.js";
import { buildModel } from "../nn/archs.js";
import { featureActivations, makeSeeds, unitMask } from "./representation.js";

const fixture = (name: string) => {
  const path = `test/fixtures/${name}/model.onnx`;
  return new Model(new Uint8Array(readFileSync(path)), path);
};

test("fmnist_small: R is the final Gemm's input, the last Relu's output, and that Relu is the fake ReLU", () => {
  const m = fixture("fmnist_small");
  const info = m.representation();
  assert.deepEqual(info.shape, [64]);
  const g = m.graph(1);
  const relu = g.nodes.find((n) => n.name === info.fakeRelu)!;
  assert.equal(relu.op, "Relu");
  assert.equal(relu.outputs[0]!.name, info.name);
  // Sub → Div → Conv → Relu → MaxPool → Conv → Relu → MaxPool → Flatten → Gemm → Relu → Gemm: the third Relu
  assert.equal(g.nodes.filter((n) => n.op === "Relu").at(-1), relu);
  assert.equal(g.nodes.at(-1)!.op, "Gemm");
  assert.equal(g.nodes.at(-1)!.inputs[0]!.name, info.name);
});

test("cifar_bottleneck: R after GlobalAveragePool → Flatten; the fake ReLU is the last block's Relu before the pooling", () => {
  const m = fixture("cifar_bottleneck");
  const info = m.representation();
  assert.deepEqual(info.shape, [256]);
  const g = m.graph(1);
  const relu = g.nodes.find((n) => n.name === info.fakeRelu)!;
  assert.equal(relu.op, "Relu");
  const pool = g.nodes.find((n) => n.op === "GlobalAveragePool")!;
  assert.equal(pool.inputs[0], relu.outputs[0]);
  assert.equal(g.nodes.filter((n) => n.op === "Relu").at(-1), relu);
});

test("a robustlens-built model: R defaults to the output named rep, the fake ReLU to rep_relu", () => {
  const built = buildModel({ arch: "small-cnn", inChannels: 1, imageSize: 28, classes: 10, mean: [0.5], std: [0.5] });
  const m = new Model(toOnnxBytes(built.graph));
  const info = m.representation();
  assert.equal(info.name, "rep");
  assert.equal(info.fakeRelu, "rep_relu");
});

test("a named representation; fake ReLU only through reshapes and pooling; fakeRelu true insists, false switches off", () => {
  const m = fixture("fmnist_small");
  // the pre-activation of fc1: a Gemm produces it, so no Relu stands right behind it
  const pre = m.representation({ rep: "/fc1/Gemm_output_0" });
  assert.deepEqual(pre, { name: "/fc1/Gemm_output_0", shape: [64], fakeRelu: undefined, straightThrough: [] });
  assert.deepEqual(m.representation({ rep: "/fc1/Gemm_output_0" }, 2).straightThrough, []);
  assert.throws(() => m.representation({ rep: "/fc1/Gemm_output_0", fakeRelu: true }, 2), /no Relu found before representation/);
  // the second conv block's map: Relu → MaxPool, walked through
  const map = m.representation({ rep: "/MaxPool_1_output_0" });
  assert.deepEqual(map.shape, [32, 7, 7]);
  assert.equal(map.fakeRelu, "/Relu_1");
  assert.deepEqual(m.representation({}, 3).straightThrough, ["/Relu_2"]);
  assert.deepEqual(m.representation({ fakeRelu: false }, 3).straightThrough, []);
  assert.throws(() => m.representation({ rep: "nope" }), /"nope" is not a value/);
});

test("unit masks: one-hot for vector R, channel means for maps; featureActivations reads them back", () => {
  const mv = unitMask([4], [2, 0]);
  assert.deepEqual(Array.from(mv.data), [0, 0, 1, 0, 1, 0, 0, 0]);
  const mm = unitMask([2, 1, 2], [1]);
  assert.deepEqual(Array.from(mm.data), [0, 0, 0.5, 0.5]);
  const rep = tensor("float32", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]) as Tensor<"float32">;
  assert.deepEqual(Array.from(featureActivations(rep, mv)), [3, 5]);
  assert.throws(() => unitMask([4], [4]), /out of range/);
});

test("seeds: gray is 0.5, noise is 0.5 + N(0, 0.05²) clamped and reproducible, one given image is repeated", () => {
  const m = fixture("fmnist_small");
  const gray = makeSeeds(m, "gray", 2);
  assert.deepEqual(gray.shape, [2, 1, 28, 28]);
  assert.ok(gray.data.every((v) => v === 0.5));
  const noise = makeSeeds(m, "noise", 3, 5);
  const mean = noise.data.reduce((s, v) => s + v, 0) / noise.data.length;
  const sd = Math.sqrt(noise.data.reduce((s, v) => s + (v - mean) ** 2, 0) / noise.data.length);
  assert.ok(Math.abs(mean - 0.5) < 0.005 && Math.abs(sd - 0.05) < 0.005, `mean ${mean}, sd ${sd}`);
  assert.deepEqual(makeSeeds(m, "noise", 3, 5).data, noise.data);
  const one = tensor("float32", [1, 1, 28, 28], new Float32Array(784).fill(0.25)) as Tensor<"float32">;
  const rep = makeSeeds(m, one, 3);
  assert.deepEqual(rep.shape, [3, 1, 28, 28]);
  assert.ok(rep.data.every((v) => v === 0.25));
  assert.throws(() => makeSeeds(m, makeSeeds(m, "gray", 2), 3), /expected 3 images or one/);
});
