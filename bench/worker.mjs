// The robustlens side of one workload in its own process (so its peak RSS is its own), driven over stdin like
// bench/torch_workloads.py: setup, the check (first iteration) and a warm-up run, "READY", then "run K [user]", "rss", "quit".
// Usage: node bench/worker.mjs --workload W --model r18|fm --assets DIR --check DIR --threads T
import { createInterface } from "node:readline";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { nodeExecutor, saveNpy } from "robustlens/node";
import { makeWorkload } from "./workloads.mjs";

const { values: a } = parseArgs({
  options: {
    workload: { type: "string" },
    model: { type: "string" },
    assets: { type: "string" },
    check: { type: "string" },
    threads: { type: "string" },
  },
});
const threads = Number(a.threads);
// every program of the workload, including those the library compiles itself, runs with the bench's thread count
// the profile too: grad() picks its formulations by it (oneDNN weight gradients)
const exec = { profile: nodeExecutor.profile, compile: (g, o = {}) => nodeExecutor.compile(g, { ...o, intraOpThreads: threads }) };
const save = (name, t) => saveNpy(join(a.check, `rl_${name}.npy`), t);
const w = await makeWorkload(a.workload, a.model, { exec, assets: a.assets, save });
for (const [k, t] of Object.entries(await w.check())) await save(k, t);
await w.run(); // warm-up, untimed
console.log("READY");
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, k, mode] = line.split(" ");
  if (cmd === "run") {
    const fn = mode === "user" ? w.user : w.run;
    if (!fn) {
      console.log(JSON.stringify({ times: [] }));
      continue;
    }
    const times = [];
    for (let i = 0; i < Number(k); i++) {
      const t0 = performance.now();
      await fn();
      times.push(performance.now() - t0);
    }
    console.log(JSON.stringify({ times }));
  } else if (cmd === "rss") {
    console.log(JSON.stringify({ maxrss_mb: process.resourceUsage().maxRSS / 1024 }));
  } else if (cmd === "quit") {
    await w.dispose();
    console.log(JSON.stringify({ maxrss_mb: process.resourceUsage().maxRSS / 1024, has_user: !!w.user }));
    process.exit(0);
  }
}
