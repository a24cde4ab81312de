// Checks the zoo against PyTorch twins (scripts/nn_reference.py, Debian's python3-torch): same names, counts, outputs, gradients.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { loadNpy, saveNpy } from "../data/node/npy-file.js";
import { Builder } from "../builder/builder.js";
import { toOnnxBytes } from "../builder/onnx-export.js";
import { type Tensor, sizeOf, tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { Rng } from "../util/rng.js";
import { type ModelOptions, buildModel } from "./archs.js";
import { TINY, images, randomBatchNorm } from "./tiny.js";

function python(args: readonly string[]): string {
  try {
    return execFileSync("/usr/bin/python3", ["scripts/nn_reference.py", ...args], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    const err = String((e as { stderr?: string }).stderr ?? e)
      .trim()
      .split("\n")
      .pop();
    throw new Error(`scripts/nn_reference.py needs Debian's python3-torch and python3-onnx (apt-get install them): ${err}`);
  }
}

/** ‖a − b‖ / ‖b‖. */
function relErr(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  let num = 0,
    den = 0;
  for (let i = 0; i < b.data.length; i++) {
    num += (Number(a.data[i]) - Number(b.data[i])) ** 2;
    den += Number(b.data[i]) ** 2;
  }
  return Math.sqrt(num / den);
}

/** Our logits, rep and gradients of Σ u·logits (input, conv1.weight) against PyTorch's on the same weights and images. */
async function compare(o: ModelOptions, n: number): Promise<Record<string, number>> {
  const om = { ...o, weights: randomBatchNorm(o) };
  const m = buildModel(om);
  const dir = mkdtempSync(join(tmpdir(), "robustlens-nn-"));
  try {
    const rng = new Rng(4);
    const x = images(n, o, 3);
    const u = tensor(
      "float32",
      [n, o.classes],
      Float32Array.from({ length: n * o.classes }, () => rng.normal()),
    );
    writeFileSync(join(dir, "m.onnx"), toOnnxBytes(m.graph));
    await saveNpy(join(dir, "x.npy"), x);
    await saveNpy(join(dir, "u.npy"), u);
    const g = m.graph.clone().graph;
    const b = new Builder(g);
    const gr = grad(g, { loss: b.reduceSum(b.mul(g.outputs[0]!, b.constant(u, "u")), [], false), wrt: ["input", "conv1.weight"] });
    const prog = await nodeExecutor.compile(gr.graph);
    const ours = await prog.run({ input: x });
    await prog.dispose();
    const f = (k: string) => join(dir, `${k}.npy`);
    const info = JSON.parse(
      python([
        "--onnx",
        join(dir, "m.onnx"),
        "--x",
        f("x"),
        "--logits",
        f("logits"),
        "--rep",
        f("rep"),
        "--u",
        f("u"),
        "--grad-input",
        f("gx"),
        "--grad-weight",
        f("gw"),
        ...(o.mode === "train" ? ["--train"] : []),
      ]),
    ) as { params: number; leftover_initializers: string[] };
    assert.equal(
      info.params,
      m.params.reduce((s, p) => s + sizeOf(m.graph.value(p).shape as number[]), 0),
    );
    assert.deepEqual(info.leftover_initializers, [], "every initializer is a PyTorch parameter or buffer");
    return {
      logits: relErr(ours.logits!, await loadNpy(f("logits"))),
      rep: relErr(ours.rep!, await loadNpy(f("rep"))),
      gradInput: relErr(ours[gr.grads[0]!.name]!, await loadNpy(f("gx"))),
      gradWeight: relErr(ours[gr.grads[1]!.name]!, await loadNpy(f("gw"))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("trainable parameter counts equal PyTorch's for the width-1 CIFAR models", () => {
  const torch = JSON.parse(python(["--count"])) as Record<string, number>;
  const cifar = { inChannels: 3, imageSize: 32, classes: 10, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  for (const arch of ["resnet18", "resnet50", "preact-resnet18", "wrn-28-10"]) {
    const m = buildModel({ arch, ...cifar });
    assert.equal(
      m.params.reduce((s, p) => s + sizeOf(m.graph.value(p).shape as number[]), 0),
      torch[arch],
      arch,
    );
  }
});

for (const { o } of TINY) {
  test(`${o.arch}: logits, rep and gradients match PyTorch on the same weights (BN inference)`, async () => {
    const e = await compare(o, 3);
    for (const [k, v] of Object.entries(e)) assert.ok(v < 1e-4, `${k}: rel err ${v}`);
  });
}

// train-mode BN over few samples amplifies float32 rounding; these sizes keep ReLU inputs away from flipping
for (const arch of ["resnet18", "preact-resnet18", "wrn-28-2"]) {
  test(`${arch}: gradients match PyTorch with BN in train mode (batch statistics)`, async () => {
    const e = await compare({ ...TINY.find((t) => t.o.arch === arch)!.o, width: 0.125, mode: "train" }, 8);
    for (const [k, v] of Object.entries(e)) assert.ok(v < 1e-3, `${k}: rel err ${v}`);
  });
}

test("resnet18 at full width on 32×32: logits and gradients match PyTorch", async () => {
  const o = { ...TINY.find((t) => t.o.arch === "resnet18")!.o, width: 1, imageSize: 32 };
  const e = await compare(o, 2);
  for (const [k, v] of Object.entries(e)) assert.ok(v < 1e-4, `${k}: rel err ${v}`);
});
