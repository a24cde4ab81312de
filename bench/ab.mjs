// Two or more robustlens configurations of one workload in one process, alternating (ABBA over rounds), for a shared
// machine where only ratios within one run mean anything. Configurations: plain (plain Conv on fed weights), nchwc
// (NCHWc blocked Convs, weight reorders every run), hoist (NCHWc, weight-only work once per new weights).
// Checks that every configuration's first iteration agrees with the first one's (max |Δ| / max(1, max |a|)).
// Usage: node bench/ab.mjs --workload adv-train-step [--model r18] [--configs plain,nchwc,hoist] [--rounds 3] [--threads T]
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PROFILES } from "robustlens";
import { NodeExecutor, nchwcBlockOfCpu } from "robustlens/node";
import { prepareAssets } from "./assets.mjs";
import { makeWorkload } from "./workloads.mjs";

const { values: a } = parseArgs({
  options: {
    workload: { type: "string", default: "adv-train-step" },
    model: { type: "string", default: "r18" },
    configs: { type: "string", default: "plain,nchwc,hoist" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string" },
    assets: { type: "string" },
  },
});
const threads = Number(a.threads ?? availableParallelism());
const block = nchwcBlockOfCpu();
const CONFIGS = {
  plain: { profile: PROFILES.cpu, hoist: false },
  nchwc: { profile: { ...PROFILES.cpu, nchwcBlock: block }, hoist: false },
  hoist: { profile: { ...PROFILES.cpu, nchwcBlock: block }, hoist: true },
  "plain-hoist": { profile: PROFILES.cpu, hoist: true },
};
const names = a.configs.split(",");
for (const n of names) if (!CONFIGS[n]) throw new Error(`--configs: unknown configuration "${n}" (${Object.keys(CONFIGS).join(", ")})`);
const dir = mkdtempSync(join(tmpdir(), "rl-ab-"));
const assets = a.assets ?? dir;
if (!a.assets) await prepareAssets(dir);

const sides = [];
for (const n of names) {
  const c = CONFIGS[n];
  const e = new NodeExecutor({ profile: c.profile });
  const exec = { profile: e.profile, compile: (g, o = {}) => e.compile(g, { ...o, intraOpThreads: threads }) };
  // bench/workloads.mjs's lifted target reads BENCH_NO_HOIST when it is made
  process.env.BENCH_NO_HOIST = c.hoist ? "0" : "1";
  const w = await makeWorkload(a.workload, a.model, { exec, assets, save: async () => {} });
  sides.push({ name: n, w, check: await w.check(), times: [] });
  await w.run(); // warm-up
}
const ref = sides[0];
for (const s of sides.slice(1))
  for (const [k, t] of Object.entries(ref.check)) {
    const u = s.check[k];
    let d = 0,
      m = 1;
    for (let i = 0; i < t.data.length; i++) {
      d = Math.max(d, Math.abs(Number(t.data[i]) - Number(u.data[i])));
      m = Math.max(m, Math.abs(Number(t.data[i])));
    }
    console.log(`check ${s.name} vs ${ref.name}: ${k} max |Δ|/max(1,|${ref.name}|) ${(d / m).toExponential(2)}`);
  }
const rounds = Number(a.rounds);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...sides].reverse() : sides;
  for (const s of order) {
    const t0 = performance.now();
    await s.w.run();
    s.times.push(performance.now() - t0);
  }
}
const median = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
console.log(`\n${a.workload} · ${a.model}, ${threads} threads, ${rounds} rounds alternating (shared machine: ratios only)`);
for (const s of sides)
  console.log(
    `  ${s.name.padEnd(12)} median ${median(s.times).toFixed(1)} ms  (${s.times.map((t) => t.toFixed(0)).join(", ")})  ${ref.name}/${s.name} ${(median(ref.times) / median(s.times)).toFixed(2)}×`,
  );
for (const s of sides) await s.w.dispose();
if (!a.assets) rmSync(dir, { recursive: true, force: true });
