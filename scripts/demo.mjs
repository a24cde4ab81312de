// The main job until the report exists: predict and input gradients on a shipped fixture, checked against PyTorch.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadNpy } from "robustlens/node";

const dir = "test/fixtures/cifar_bottleneck";
const out = mkdtempSync(join(tmpdir(), "robustlens-demo-"));
const run = (args) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["bin/robustlens.js", ...args], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return performance.now() - t0;
};
const rel = (a, b) => {
  let n = 0, d = 0;
  for (let i = 0; i < b.data.length; i++) { n += (a.data[i] - b.data[i]) ** 2; d += b.data[i] ** 2; }
  return Math.sqrt(n / d);
};
const model = join(dir, "model.onnx"), x = join(dir, "x.npy");
const steps = [
  ["predict", ["predict", "--model", model, "--input", x, "--out", join(out, "logits.npy")], "logits.npy", "logits.npy"],
  ["grad ce", ["grad", "--model", model, "--input", x, "--labels", join(dir, "labels.npy"), "--out", join(out, "grad_ce.npy")], "grad_ce.npy", "grad_ce.npy"],
  ["grad rep-distance", ["grad", "--model", model, "--input", x, "--target", join(dir, "target.npy"), "--loss", "rep-distance", "--out", join(out, "grad_rep.npy")], "grad_rep.npy", "grad_rep.npy"],
];
console.log(`robustlens demo on ${dir} (bottleneck ResNet, normalization inside the model), outputs in ${out}`);
for (const [label, args, mine, ref] of steps) {
  const ms = run(args);
  const e = rel(await loadNpy(join(out, mine)), await loadNpy(join(dir, ref)));
  console.log(`${label.padEnd(18)} ${ms.toFixed(0).padStart(6)} ms   relative error vs PyTorch ${e.toExponential(2)}`);
}
