// Where a workload's peak RSS comes from: per phase (setup, each ORT session's creation and runs, JS between runs) the
// process high-water mark it raised (onnxruntime-node runs sessions synchronously on the main thread, so no timer sees
// inside a run), and RSS sampled every few ms with the JS heap and ArrayBuffer totals.
// Usage: node bench/memory.mjs --workload adv-train-step [--model r18] [--threads T] [--runs 2]
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { nodeExecutor } from "robustlens/node";
import { prepareAssets } from "./assets.mjs";
import { makeWorkload } from "./workloads.mjs";

const { values: a } = parseArgs({
  options: {
    workload: { type: "string", default: "adv-train-step" },
    model: { type: "string", default: "r18" },
    threads: { type: "string" },
    runs: { type: "string", default: "2" },
  },
});
const threads = Number(a.threads ?? availableParallelism());
const dir = mkdtempSync(join(tmpdir(), "rl-mem-"));
await prepareAssets(dir);

let current = "setup";
const peaks = new Map();
const mb = (b) => Math.round(b / 2 ** 20);
// the process's high-water mark (maxRSS) is exact; a phase that raised it is where the peak happened, even inside a
// synchronous native call (session creation) that no sampling timer sees
let highWater = 0;
const sample = () => {
  const m = process.memoryUsage();
  const hw = process.resourceUsage().maxRSS * 1024;
  const p = peaks.get(current) ?? { rss: 0, heap: 0, buffers: 0, raised: 0 };
  if (m.rss > p.rss) Object.assign(p, { rss: m.rss, heap: m.heapUsed, buffers: m.arrayBuffers });
  if (hw > highWater) {
    p.raised = hw;
    highWater = hw;
  }
  peaks.set(current, p);
};
const phase = {
  get: () => current,
  set: (v) => {
    sample();
    current = v;
  },
};
const timer = setInterval(sample, 3);

// label each session by creation order and its size; runs are their own phase
let made = 0;
const create = ort.InferenceSession.create.bind(ort.InferenceSession);
ort.InferenceSession.create = async (bytes, o) => {
  const id = `session ${made++} (${mb(bytes.byteLength)} MB model`;
  const prev = phase.get();
  phase.set(`create ${id})`);
  const s = await create(bytes, o);
  phase.set(prev);
  const run = s.run.bind(s);
  const label = `run ${id}, ${s.inputNames.length} inputs)`;
  s.run = async (...args) => {
    const before = phase.get();
    phase.set(label);
    try {
      return await run(...args);
    } finally {
      phase.set(before);
    }
  };
  return s;
};

// the profile too: grad() picks its formulations by it (oneDNN weight gradients)
const exec = { profile: nodeExecutor.profile, compile: (g, o = {}) => nodeExecutor.compile(g, { ...o, intraOpThreads: threads }) };
const w = await makeWorkload(a.workload, a.model, { exec, assets: dir, save: async () => {} });
phase.set("check");
await w.check();
for (let i = 0; i < Number(a.runs); i++) {
  phase.set(`js (run ${i})`);
  await w.run();
}
sample();
clearInterval(timer);
await w.dispose();
rmSync(dir, { recursive: true, force: true });
console.log(
  `${a.workload} · ${a.model}, ${threads} threads; maxRSS ${mb(process.resourceUsage().maxRSS * 1024)} MB. By phase (MB): the high-water mark it raised, sampled RSS peak (JS heap, ArrayBuffers then):`,
);
for (const [k, p] of [...peaks].sort((x, y) => y[1].raised - x[1].raised || y[1].rss - x[1].rss))
  console.log(
    `  ${(p.raised ? String(mb(p.raised)) : "-").padStart(6)}  ${String(mb(p.rss)).padStart(6)}  heap ${String(mb(p.heap)).padStart(4)}  buffers ${String(mb(p.buffers)).padStart(5)}  ${k}`,
  );
