// --device on the CLI: webgpu runs where a GPU adapter exists (same results as cpu), else fails with one line naming what is missing.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Graph, Builder, tensor } from "robustlens";
import { NodeExecutor, loadNpy } from "robustlens/node";
import { cli, fixtureDir, relErr, tmp } from "./helpers.js";

const MODEL = "models/fashion-mnist-l2/model.onnx";
const fx = fixtureDir("fmnist_small");

/** Whether onnxruntime-node's WebGPU EP finds an adapter on this machine (CI machines without a GPU: no). */
async function webgpuAvailable(): Promise<boolean> {
  const g = new Graph();
  const x = g.addInput("x", "float32", [1]);
  g.outputs = [new Builder(g).addv(x, x)];
  try {
    const p = await new NodeExecutor({ device: "webgpu" }).compile(g);
    const out = await p.run({ x: tensor("float32", [1], [2]) });
    await p.dispose();
    return Number(Object.values(out)[0]!.data[0]) === 4;
  } catch {
    return false;
  }
}

const lastLine = (s: string) => s.trim().split("\n").at(-1) ?? "";

test("--device webgpu: same predictions and attack as cpu with a GPU; without one, one line naming the missing adapter", async (t) => {
  const d = tmp();
  const x = join(fx, "x.npy"),
    labels = join(fx, "labels.npy");
  const cpuOut = join(d, "cpu.npy"),
    gpuOut = join(d, "gpu.npy");
  assert.equal(cli(["predict", "--model", MODEL, "--input", x, "--out", cpuOut, "--device", "cpu"]).status, 0);
  const r = cli(["predict", "--model", MODEL, "--input", x, "--out", gpuOut, "--device", "webgpu"]);
  if (!(await webgpuAvailable())) {
    t.diagnostic("no WebGPU adapter here: checking the refusal only");
    assert.equal(r.status, 1);
    assert.match(
      lastLine(r.stderr),
      /^robustlens: device webgpu: onnxruntime-node's WebGPU execution provider could not start \(.+\); it needs a GPU/,
    );
    assert.ok(!existsSync(gpuOut), "nothing written");
    // the global option also goes before the command, and every model-running command checks it
    const a = cli([
      "--device",
      "webgpu",
      "attack",
      "--model",
      MODEL,
      "--input",
      x,
      "--labels",
      labels,
      "--eps",
      "1",
      "--steps",
      "2",
      "--out",
      join(d, "adv.npy"),
    ]);
    assert.equal(a.status, 1);
    assert.match(lastLine(a.stderr), /^robustlens: device webgpu: .*could not start/);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  const e = relErr(await loadNpy(gpuOut), await loadNpy(cpuOut));
  assert.ok(e < 1e-4, `logits rel err ${e}`);
  for (const threat of ["l2", "linf"]) {
    const eps = threat === "l2" ? "1" : "0.1";
    const outs = await Promise.all(
      ["cpu", "webgpu"].map(async (device) => {
        const out = join(d, `adv-${threat}-${device}.npy`);
        const a = cli([
          "attack",
          "--model",
          MODEL,
          "--input",
          x,
          "--labels",
          labels,
          "--threat",
          threat,
          "--eps",
          eps,
          "--steps",
          "5",
          "--out",
          out,
          "--device",
          device,
        ]);
        assert.equal(a.status, 0, a.stderr);
        return loadNpy(out);
      }),
    );
    const ea = relErr(outs[1]!, outs[0]!);
    assert.ok(ea < 1e-2, `${threat} adversarial images rel err ${ea}`);
  }
});

test("--device takes cpu or webgpu only", () => {
  const r = cli(["predict", "--model", MODEL, "--input", join(fx, "x.npy"), "--out", join(tmp(), "y.npy"), "--device", "cuda"]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), 'robustlens: --device must be cpu or webgpu, got "cuda"');
});
