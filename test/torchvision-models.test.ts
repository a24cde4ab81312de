// torchvision MobileNetV3-Small, EfficientNet-B0, DenseNet-121, ConvNeXt-Tiny and a small ViT (random weights, 2 images
// 32×32) exported by Debian's PyTorch at opset 9 and 17: robustlens' logits and cross-entropy input gradients match PyTorch's.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Model, Session, type Tensor, ceLoss, forward, inputGradient } from "robustlens";
import { loadNpy, nodeExecutor } from "robustlens/node";
import { relErr, tmp } from "./helpers.js";

const NETS = ["mobilenet_v3_small", "efficientnet_b0", "densenet121", "convnext_tiny", "vit_small"];
const OPSETS = [9, 17];
const TOLERANCE = 1e-4;
const dir = tmp();

// one exporter process for the run, started at once: each network's test begins as soon as its files are written
let failure: string | undefined;
let stderr = "";
const py = spawn("/usr/bin/python3", ["scripts/torchvision_reference.py", "--out", dir, "--threads", "1"], {
  stdio: ["ignore", "ignore", "pipe"],
});
py.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
const exited = new Promise<void>((done) =>
  py.on("close", (code) => {
    if (code !== 0) failure = `torchvision_reference.py exited with ${code}: ${stderr.trim().split("\n").slice(-2).join(" ")}`;
    done();
  }),
);
py.on("error", (e) => (failure = `cannot run /usr/bin/python3 (Debian python3-torch, python3-torchvision, python3-onnx): ${e.message}`));

async function ready(name: string): Promise<{ exports: { asked: number; opset: number }[] }> {
  const marker = join(dir, `${name}.json`);
  for (;;) {
    if (existsSync(marker)) return JSON.parse(readFileSync(marker, "utf8"));
    if (failure) throw new Error(failure);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 250))]);
  }
}

for (const name of NETS) {
  for (const asked of OPSETS) {
    test(`${name} at opset ${asked}: logits and input gradients match PyTorch within ${TOLERANCE}`, async (t) => {
      const info = await ready(name);
      const load = (k: string) => loadNpy(join(dir, `${name}_${k}.npy`));
      const [x, y, logits, grad] = await Promise.all(["x", "y", "logits", "grad"].map(load));
      const opset = info.exports.find((e) => e.asked === asked)!.opset;
      const file = `${name}_opset${asked}.onnx`;
      const session = new Session(nodeExecutor);
      try {
        const model = new Model(new Uint8Array(readFileSync(join(dir, file))), file);
        const mine = await forward(session, model, x!);
        const g = await inputGradient(session, model, x!, ceLoss(y as Tensor<"int64">));
        const le = relErr(mine, logits!),
          ge = relErr(g.grad, grad!);
        t.diagnostic(`opset ${opset}: logits ${le.toExponential(1)}, input gradient ${ge.toExponential(1)} (‖a−b‖/‖b‖)`);
        assert.ok(le <= TOLERANCE, `${file}: logits differ by ${le}`);
        assert.ok(ge <= TOLERANCE, `${file}: input gradients differ by ${ge}`);
      } finally {
        await session.dispose();
      }
    });
  }
}

test("the exporter finished cleanly", async () => {
  await exited;
  assert.equal(failure, undefined);
});
