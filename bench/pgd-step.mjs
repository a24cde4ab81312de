// Times one L2 PGD step (forward, input gradient, step, projection, best-iterate bookkeeping) on a CIFAR ResNet-18,
// robustlens and PyTorch alternating on the same machine. Run after `npm run build`: node bench/pgd-step.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Model, ceLoss, threatModel, tensor } from "robustlens";
import { loadNpy, nodeExecutor } from "robustlens/node";
import { compileAttack } from "../dist/src/attack/program.js";

const threads = Number(process.env.THREADS ?? 2), batch = Number(process.env.BATCH ?? 32), reps = 7;
const dir = mkdtempSync(join(tmpdir(), "rl-bench-"));
const py = (args) => execFileSync("/usr/bin/python3", ["bench/cifar_resnet18.py", "--batch", String(batch), "--threads", String(threads), ...args], { encoding: "utf8" });
py(["--export", join(dir, "m.onnx"), "--x", join(dir, "x.npy"), "--labels", join(dir, "y.npy")]);
const model = new Model(new Uint8Array(readFileSync(join(dir, "m.onnx"))));
const x = await loadNpy(join(dir, "x.npy")), y = await loadNpy(join(dir, "y.npy"));
const p = await compileAttack({ compile: (g) => nodeExecutor.compile(g, { intraOpThreads: threads }) }, model, batch, ceLoss(y), threatModel({ kind: "l2", eps: 0.5 }));
const feeds = { ...p.feeds, [model.inputName]: x, x0: x, best_x: x, best_obj: tensor("float32", [batch], new Float32Array(batch).fill(-Infinity)), alpha: tensor("float32", [batch, 1, 1, 1], new Float32Array(batch).fill(0.1)) };
await p.step.run(feeds);
const median = (a) => a.sort((u, v) => u - v)[a.length >> 1];
const ours = [], theirs = [];
for (let r = 0; r < 3; r++) {
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); await p.step.run(feeds); ours.push(performance.now() - t0); }
  theirs.push(JSON.parse(py(["--time", "--reps", String(reps)])).pytorch_ms);
}
const rl = median(ours), pt = median(theirs);
console.log(JSON.stringify({ workload: `L2 PGD step, CIFAR ResNet-18, batch ${batch}, ${threads} threads`, robustlens_ms: +rl.toFixed(1), pytorch_ms: +pt.toFixed(1), ratio: +(pt / rl).toFixed(2) }));
await p.dispose();
