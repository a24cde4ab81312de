import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { toOnnxBytes } from "../builder/onnx-export.js";
import { importOnnx } from "../builder/onnx-import.js";
import { sizeOf, tensor } from "../ir/tensor.js";
import { Model } from "../model/model.js";
import { defaultRepresentation } from "../model/representation.js";
import { nodeExecutor } from "../runtime/node.js";
import { buildModel, parseArch } from "./archs.js";
import { CIFAR, TINY, images } from "./tiny.js";

const paramCount = (m: ReturnType<typeof buildModel>) => m.params.reduce((s, p) => s + sizeOf(m.graph.value(p).shape as number[]), 0);

for (const { o, rep } of TINY) {
  test(`${o.arch}: graph layout, ORT forward, ONNX round trip keeps "rep" and defaultRepresentation finds it`, async () => {
    const m = buildModel(o);
    const g = m.graph;
    assert.deepEqual(g.inputs.map(String), [`"input" float32[batch,${o.inChannels},${o.imageSize},${o.imageSize}]`]);
    assert.deepEqual(g.outputs.map(String), [`"logits" float32[batch,${o.classes}]`, `"rep" float32[batch,${rep}]`]);
    assert.equal(g.nodes[0]!.op, "Sub");
    assert.equal(g.nodes[0]!.inputs[1]!.name, "normalize.mean");
    assert.equal(g.nodes[1]!.inputs[1]!.name, "normalize.std");
    assert.deepEqual(g.value("normalize.std").shape, [1, o.inChannels, 1, 1]);
    assert.deepEqual(new Set(g.initializers.map((v) => v.name)), new Set(["normalize.mean", "normalize.std", ...m.params, ...m.buffers]));
    assert.equal(m.runningStatOutputs.length, 0);
    assert.equal(m.buffers.length % 2, 0);
    assert.ok(g.nodes.some((n) => n.name === "rep_relu" && n.op === "Relu"));
    assert.deepEqual(g.metadata, {
      arch: JSON.stringify(o.arch),
      classes: String(o.classes),
      mean: JSON.stringify(o.mean),
      std: JSON.stringify(o.std),
      width: String(o.width),
    });

    const x = images(2, o);
    const prog = await nodeExecutor.compile(g);
    const out = await prog.run({ input: x });
    await prog.dispose();
    assert.deepEqual(out.logits!.shape, [2, o.classes]);
    assert.deepEqual(out.rep!.shape, [2, rep]);
    assert.ok([...(out.logits!.data as Float32Array)].every(Number.isFinite));
    if (o.arch !== "small-cnn")
      assert.ok(
        [...(out.rep!.data as Float32Array)].every((v) => v >= 0),
        "rep is pooled ReLU output",
      );

    const bytes = toOnnxBytes(g);
    const back = importOnnx(bytes);
    assert.deepEqual(
      back.outputs.map((v) => v.name),
      ["logits", "rep"],
    );
    assert.equal(defaultRepresentation(back).name, "rep");
    assert.equal(back.value("rep").shape?.[1], rep);
    assert.equal(back.metadata.arch, JSON.stringify(o.arch));
    const p2 = await nodeExecutor.compile(back);
    const out2 = await p2.run({ input: x });
    await p2.dispose();
    assert.deepEqual(out2.logits!.data, out.logits!.data);

    // the fake-ReLU hook resolves by node name on the imported model, and the Model wrapper accepts it
    const mg = new Model(bytes).graph(2);
    const loss = new Builder(mg).reduceSum(mg.value("rep"), [], false);
    const gr = grad(mg, { loss, wrt: ["input"], straightThrough: ["rep_relu"] });
    assert.deepEqual(gr.grads[0]!.shape, [2, o.inChannels, o.imageSize, o.imageSize]);
  });
}

test("trainable parameter counts at width 1 match the PyTorch CIFAR models", () => {
  const want: Record<string, number> = {
    resnet18: 11_173_962,
    resnet50: 23_520_842,
    "wrn-28-10": 36_479_194,
    // with the final BN-ReLU before pooling (robust-overfitting/fast-adversarial variant); kuangliu's lacks it: 11,171,146
    "preact-resnet18": 11_172_170,
  };
  for (const [arch, n] of Object.entries(want))
    assert.equal(paramCount(buildModel({ arch, inChannels: 3, imageSize: 32, classes: 10, ...CIFAR })), n, arch);
  assert.equal(paramCount(buildModel({ arch: "small-cnn", inChannels: 1, imageSize: 28, classes: 10, mean: [0.5], std: [0.5] })), 421_642);
});

test("same seed gives identical weights; weights from a checkpoint rebuild the model exactly", () => {
  const o = TINY[1]!.o;
  const a = buildModel({ ...o, seed: 3 }),
    b = buildModel({ ...o, seed: 3 }),
    c = buildModel({ ...o, seed: 4 });
  const data = (m: typeof a) => m.graph.initializers.map((v) => [v.name, [...(v.data!.data as Float32Array)]]);
  assert.deepEqual(data(a), data(b));
  assert.notDeepEqual(data(a), data(c));
  const ckpt = new Map(a.graph.initializers.map((v) => [v.name, v.data!]));
  assert.deepEqual(data(buildModel({ ...o, seed: 4, weights: ckpt })), data(a));
  const partial = new Map([["linear.bias", a.graph.value("linear.bias").data!]]);
  assert.deepEqual(
    buildModel({ ...o, seed: 4, weights: partial }).graph.value("linear.bias").data!.data,
    a.graph.value("linear.bias").data!.data,
  );
});

test("bad options and checkpoints fail in one line naming the problem", () => {
  const o = TINY[1]!.o;
  const one = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => re.test(e.message) && !e.message.includes("\n"));
  one(
    () => buildModel({ ...o, arch: "vgg16" }),
    /unknown architecture "vgg16" \(known: small-cnn, resnet18, resnet50, preact-resnet18, wrn-D-K/,
  );
  one(() => buildModel({ ...o, arch: "wrn-27-10" }), /WideResNet depth must be 6n\+4/);
  one(() => buildModel({ ...o, mean: [0.5] }), /need 3 values/);
  one(() => buildModel({ ...o, width: 0 }), /width must be a positive number/);
  one(
    () => buildModel({ ...o, weights: new Map([["layer9.conv.weight", tensor("float32", [1], [0])]]) }),
    /weights: "layer9.conv.weight" match no tensor of resnet18/,
  );
  one(
    () => buildModel({ ...o, weights: new Map([["conv1.weight", tensor("float32", [1], [0])]]) }),
    /weights: "conv1.weight" is float32\[1\], the model expects float32\[16,3,3,3\]/,
  );
  one(
    () => buildModel({ ...o, weights: new Map([["normalize.mean", tensor("float32", [1, 3, 1, 1], [0, 0, 0])]]) }),
    /"normalize.mean" \[0,0,0\] differs/,
  );
});

test("architecture names parse, wrn-D-K for any K", () => {
  assert.deepEqual(parseArch("wrn-28-4"), { kind: "wrn", depth: 28, k: 4 });
  assert.deepEqual(parseArch("wrn-16-1"), { kind: "wrn", depth: 16, k: 1 });
  assert.deepEqual(parseArch("resnet50"), { kind: "resnet", depth: 50 });
});
