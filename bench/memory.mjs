// Where a workload's peak RSS comes from: RSS sampled every few ms while it runs, attributed to the phase it was in (setup,
// each ORT session's creation and runs, JS between runs), with the JS heap and ArrayBuffer totals at the peak.
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

let phase = "setup";
const peaks = new Map();
const mb = (b) => Math.round(b / 2 ** 20);
const sample = () => {
  const m = process.memoryUsage();
  const p = peaks.get(phase);
  if (!p || m.rss > p.rss) peaks.set(phase, { rss: m.rss, heap: m.heapUsed, buffers: m.arrayBuffers });
};
const timer = setInterval(sample, 3);

// label each session by creation order and its size; runs are their own phase
let made = 0;
const create = ort.InferenceSession.create.bind(ort.InferenceSession);
ort.InferenceSession.create = async (bytes, o) => {
  const id = `session ${made++} (${mb(bytes.byteLength)} MB model`;
  const prev = phase;
  phase = `create ${id})`;
  const s = await create(bytes, o);
  sample();
  phase = prev;
  const run = s.run.bind(s);
  const label = `run ${id}, ${s.inputNames.length} inputs)`;
  s.run = async (...args) => {
    const before = phase;
    phase = label;
    try {
      return await run(...args);
    } finally {
      sample();
      phase = before;
    }
  };
  return s;
};

const exec = { compile: (g, o = {}) => nodeExecutor.compile(g, { ...o, intraOpThreads: threads }) };
const w = await makeWorkload(a.workload, a.model, { exec, assets: dir, save: async () => {} });
phase = "check";
await w.check();
for (let i = 0; i < Number(a.runs); i++) {
  phase = `js (run ${i})`;
  await w.run();
}
sample();
clearInterval(timer);
await w.dispose();
rmSync(dir, { recursive: true, force: true });
console.log(
  `${a.workload} · ${a.model}, ${threads} threads; maxRSS ${mb(process.resourceUsage().maxRSS * 1024)} MB. Peak RSS by phase (MB; JS heap, ArrayBuffers at that moment):`,
);
for (const [k, p] of [...peaks].sort((x, y) => y[1].rss - x[1].rss))
  console.log(
    `  ${String(mb(p.rss)).padStart(6)}  heap ${String(mb(p.heap)).padStart(4)}  buffers ${String(mb(p.buffers)).padStart(5)}  ${k}`,
  );
