// What the webgpu-profile formulations (MaxPool VJP by an equality mask, Where-sign, shifted log-softmax, Where-max) cost
// on ORT CPU: the Fashion-MNIST CNN's PGD step (L2, L∞) and inversion step, cpu-profile vs webgpu-profile programs.
// Usage: npm run build && node bench/formulations.mjs [--threads 2] [--batch 32] [--rounds 5] [--reps 20]
// Rounds alternate the two programs so machine load hits both alike; the median per-call time of each is printed.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Model, Session, WEBGPU_PROFILE, attackPrograms, ceLoss, repTargetLoss, tensor, threatModel } from "robustlens";
import { NodeExecutor } from "robustlens/node";

const { values: a } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "32" },
    rounds: { type: "string", default: "5" },
    reps: { type: "string", default: "20" },
  },
});
const threads = Number(a.threads),
  n = Number(a.batch),
  rounds = Number(a.rounds),
  reps = Number(a.reps);
const MODEL = "models/fashion-mnist-l2/model.onnx";
const model = new Model(new Uint8Array(readFileSync(MODEL)), MODEL);
const wrap = (e) => ({ profile: e.profile, compile: (g, o = {}) => e.compile(g, { ...o, intraOpThreads: threads }) });
const execs = { cpu: wrap(new NodeExecutor()), webgpu: wrap(new NodeExecutor({ profile: WEBGPU_PROFILE })) };

const x = tensor(
  "float32",
  [n, 1, 28, 28],
  Float32Array.from({ length: n * 784 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2),
);
const labels = tensor(
  "int64",
  [n],
  Array.from({ length: n }, (_, i) => i % 10),
);
const rep = model.representation();
const target = tensor(
  "float32",
  [n, ...rep.shape],
  Float32Array.from({ length: n * rep.shape.reduce((p, q) => p * q, 1) }, (_, i) => (i % 7) / 7),
);
const workloads = {
  "pgd-step l2": () => [ceLoss(labels), threatModel({ kind: "l2", eps: 1.25 })],
  "pgd-step linf": () => [ceLoss(labels), threatModel({ kind: "linf", eps: 0.1 })],
  "invert-step": () => [repTargetLoss(rep.name, target), threatModel({ kind: "l2", eps: 1000 })],
};

const median = (v) => {
  const s = [...v].sort((p, q) => p - q);
  return s[s.length >> 1];
};
const rows = [];
for (const [name, make] of Object.entries(workloads)) {
  const progs = {};
  for (const [k, e] of Object.entries(execs)) {
    const [loss, threat] = make();
    progs[k] = await attackPrograms(
      new Session(e),
      model,
      n,
      loss,
      threat,
      name === "invert-step" ? { straightThrough: rep.straightThrough } : {},
    );
  }
  const feeds = {
    ...make()[0].feeds,
    [model.inputName]: x,
    x0: x,
    best_x: x,
    best_obj: tensor("float32", [n], new Float32Array(n).fill(-Infinity)),
    alpha: tensor("float32", [n, 1, 1, 1], new Float32Array(n).fill(0.1)),
  };
  const times = { cpu: [], webgpu: [] };
  for (const k of Object.keys(progs)) for (let i = 0; i < 3; i++) await progs[k].step.run(feeds);
  for (let r = 0; r < rounds; r++) {
    for (const k of Object.keys(progs)) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await progs[k].step.run(feeds);
      times[k].push((performance.now() - t0) / reps);
    }
  }
  for (const p of Object.values(progs)) await p.dispose();
  const cpu = median(times.cpu),
    webgpu = median(times.webgpu);
  rows.push({
    workload: name,
    batch: n,
    threads,
    cpu_ms: +cpu.toFixed(2),
    webgpu_profile_ms: +webgpu.toFixed(2),
    ratio: +(webgpu / cpu).toFixed(2),
  });
}
console.log("| workload | batch | cpu profile (ms) | webgpu profile on CPU (ms) | ratio |\n|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.workload} | ${r.batch} | ${r.cpu_ms} | ${r.webgpu_profile_ms} | ${r.ratio} |`);
console.log(JSON.stringify(rows));
