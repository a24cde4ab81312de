// `npm run bench`: every workload in robustlens and in PyTorch, alternating, same threads; table, results.json, README table.
// Options: --quick (reduced set, < 3 min) --threads T (default: all cores) --only SUBSTRING --rounds R --no-user
//          --install (apt-get install Debian's python3-torch when it is missing and we are root)
//          --only recipe [--images N --sides ... | --interleave]: the "time to a robust model" row (bench/recipe.mjs)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { Model } from "robustlens";
import { loadNpy } from "robustlens/node";
import { BATCH, prepareAssets } from "./assets.mjs";
import { R50, prepareR50 } from "./r50.mjs";
import { printTable, writeResults } from "./report.mjs";
import { WORKLOADS, forwardFlops, workloadFlops } from "./workloads.mjs";

const PY = "/usr/bin/python3";
// "time to a robust model" takes minutes to hours: its own script, run only on request (--only recipe [recipe options])
if (process.argv[process.argv.indexOf("--only") + 1] === "recipe" && process.argv.includes("--only")) {
  const rest = process.argv.slice(2).filter((a, i, all) => a !== "--only" && all[i - 1] !== "--only");
  process.exit(spawnSync(process.execPath, ["bench/recipe.mjs", ...rest], { stdio: "inherit" }).status ?? 1);
}
const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    threads: { type: "string" },
    only: { type: "string" },
    rounds: { type: "string" },
    "no-user": { type: "boolean", default: false },
    install: { type: "boolean", default: false },
  },
});
const threads = Number(opt.threads ?? availableParallelism());

/** Runs per round (k) for each workload: rounds·k ≥ 5 timed runs per side, more for the fast ones. */
const PLAN = { forward: 5, "pgd-step": 3, "pgd-10": 1, "adv-train-step": 1, "invert-100": 1, "eval-1000": 1, "r50-step": 1 };
const QUICK = ["r18/forward", "r18/pgd-step", "fm/forward", "fm/pgd-step", "fm/pgd-10", "fm/adv-train-step"];
const rounds = Number(opt.rounds ?? (opt.quick ? 3 : 5));

function ensureTorch() {
  const probe = () => {
    try {
      return execFileSync(PY, ["-c", "import torch, onnx, numpy; print(torch.__version__)"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      return null;
    }
  };
  let v = probe();
  if (!v && opt.install && process.getuid?.() === 0) {
    execFileSync("apt-get", ["install", "-y", "python3-torch", "python3-onnx", "python3-numpy"], { stdio: "inherit" });
    v = probe();
  }
  if (!v) {
    console.error(
      `bench: the PyTorch side needs Debian's PyTorch for ${PY}: apt-get install -y python3-torch python3-onnx python3-numpy (or npm run bench -- --install as root)`,
    );
    process.exit(1);
  }
  return v;
}

/** A worker process speaking the line protocol: waits for READY, then answers one JSON line per command. */
async function startWorker(cmd, args, label) {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error(`${label} exited: ${err.trim().split("\n").slice(-5).join(" | ")}`);
    return r.value;
  };
  const ready = await next();
  if (ready !== "READY") throw new Error(`${label}: expected READY, got ${ready}`);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    ask: async (line) => {
      child.stdin.write(line + "\n");
      return JSON.parse(await next());
    },
    kill: () => child.kill(),
    exited,
  };
}

const median = (a) => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const TOL = 2e-3;
/**
 * Iterates (x after a step) are compared per example: float32 rounding decides whether a ReLU pre-activation within ~1e-6
 * of zero is on (or which of tied MaxPool inputs wins), and such a unit changes that example's input gradient by up to a
 * few percent (bench/README.md, "Honesty rules"). Up to one example in eight may exceed TOL; they are counted as ties.
 */
const ITERATES = new Set(["x_next", "x", "x_adv"]);
const TIE_SHARE = 1 / 8;

/** Max |a − b| per check output, relative to max(1, max |a|); fails above `tol` (iterates: see ITERATES). */
async function compare(dir, keys, tol) {
  const out = {};
  let ok = true;
  for (const k of keys) {
    const a = await loadNpy(join(dir, `rl_${k}.npy`)),
      b = await loadNpy(join(dir, `torch_${k}.npy`));
    if (a.data.length !== b.data.length) throw new Error(`check ${k}: ${a.shape} vs ${b.shape}`);
    const n = ITERATES.has(k) ? a.shape[0] : 1,
      per = a.data.length / n;
    const rels = [];
    for (let e = 0; e < n; e++) {
      let d = 0,
        m = 0;
      for (let i = e * per; i < (e + 1) * per; i++) {
        d = Math.max(d, Math.abs(Number(a.data[i]) - Number(b.data[i])));
        m = Math.max(m, Math.abs(Number(a.data[i])));
      }
      rels.push(d / Math.max(1, m));
    }
    const ties = rels.filter((r) => !(r <= tol));
    const rest = rels.filter((r) => r <= tol);
    out[k] = +Math.max(0, ...(ties.length <= Math.floor(n * TIE_SHARE) ? rest : rels)).toExponential(2);
    if (ties.length) out[`${k} (tie examples)`] = `${ties.length} of ${n}, max ${Math.max(...ties).toExponential(2)}`;
    if (ties.length > Math.floor(n * TIE_SHARE) || rels.some((r) => !Number.isFinite(r))) ok = false;
  }
  return { ok, diffs: out };
}

const CHECK_KEYS = {
  forward: ["logits"],
  "pgd-step": ["x_next", "obj", "logits"],
  "pgd-10": ["x", "loss", "logits"],
  "adv-train-step": ["x_adv", "loss", "conv1.weight", "linear.weight", "bn1.running_mean"],
  "invert-100": ["x", "distance"],
  "eval-1000": ["logits", "correct"],
  "r50-step": ["x_next", "obj", "logits"],
};

async function benchOne(assets, key, name, torchVersion) {
  const check = mkdtempSync(join(tmpdir(), `rl-check-${key}-${name}-`));
  const common = ["--workload", name, "--model", key, "--assets", assets, "--check", check, "--threads", String(threads)];
  const rl = await startWorker(process.execPath, ["bench/worker.mjs", ...common], `robustlens ${key}/${name}`);
  const pt = await startWorker(PY, ["bench/torch_workloads.py", ...common], `pytorch ${key}/${name}`);
  const keys = CHECK_KEYS[name].filter((k) => key === "r18" || k !== "bn1.running_mean");
  const { ok, diffs } = await compare(check, keys, TOL);
  const k = PLAN[name];
  const ours = [],
    theirs = [],
    user = [];
  const wantUser = !opt["no-user"] && !opt.quick;
  for (let r = 0; r < rounds; r++) {
    // ABBA order, so a slow drift of the machine favours neither side
    const pair =
      r % 2 === 0
        ? [
            [rl, ours],
            [pt, theirs],
          ]
        : [
            [pt, theirs],
            [rl, ours],
          ];
    for (const [w, into] of pair) {
      // let the other side's idle worker threads (ORT and OpenMP spin after work) park before timing this side
      await new Promise((r) => setTimeout(r, 300));
      into.push(...(await w.ask(`run ${k}`)).times);
    }
  }
  // peak RSS of the steady state (setup, check, warm-up, timed runs), before the user path compiles more
  const rq = await rl.ask("rss"),
    pq = await pt.ask("quit");
  // the user path runs alone: PyTorch's process gone and its OpenMP threads with it
  await pt.exited;
  await new Promise((r) => setTimeout(r, 300));
  // as many user-path runs as steady ones, in the same bursts of k (a lone run of a 2 ms workload meets parked threads)
  const userRounds = !wantUser ? 0 : name === "invert-100" ? 3 : rounds;
  for (let r = 0; r < userRounds; r++) user.push(...(await rl.ask(`run ${k} user`)).times);
  await rl.ask("quit");
  rl.kill();
  pt.kill();
  rmSync(check, { recursive: true, force: true });
  const rlMs = median(ours),
    ptMs = median(theirs);
  const model = new Model(new Uint8Array(readFileSync(join(assets, `${key}.onnx`))));
  const flops = key !== "fm" ? workloadFlops(name, forwardFlops(model, key === "r50" ? R50.batch : BATCH)) : undefined;
  return {
    name: `${name} · ${{ r18: "ResNet-18", r50: "ResNet-50" }[key] ?? "FMNIST CNN"}`,
    workload: name,
    model: key,
    what: WORKLOADS[name].what,
    robustlens_ms: +rlMs.toFixed(1),
    pytorch_ms: +ptMs.toFixed(1),
    ratio: +(ptMs / rlMs).toFixed(2),
    ...(flops
      ? { gflops: +(flops / rlMs / 1e6).toFixed(1), pytorch_gflops: +(flops / ptMs / 1e6).toFixed(1), gflop: +(flops / 1e9).toFixed(2) }
      : {}),
    rss_mb: { robustlens: Math.round(rq.maxrss_mb), pytorch: Math.round(pq.maxrss_mb) },
    ...(user.length ? { robustlens_user_ms: +median(user).toFixed(1) } : {}),
    runs: { robustlens: ours.length, pytorch: theirs.length, user: user.length },
    check: { ok, max_rel_diff: diffs },
    torch: torchVersion,
  };
}

async function main() {
  const torchVersion = ensureTorch();
  const t0 = performance.now();
  const assets = mkdtempSync(join(tmpdir(), "rl-bench-"));
  await prepareAssets(assets);
  const ceiling = JSON.parse(execFileSync(process.execPath, ["bench/ceiling.mjs", "--threads", String(threads)], { encoding: "utf8" }));
  console.log(
    `ORT MatMul (best of ${ceiling.sizes.join(", ")}, square) with ${threads} threads: ${ceiling.ceiling_gflops} GFLOPS at ${ceiling.size}`,
  );
  const jobs = Object.entries(WORKLOADS)
    .flatMap(([name, w]) => w.models.map((key) => `${key}/${name}`))
    .filter((j) => (opt.quick ? QUICK.includes(j) : true) && (!opt.only || j.includes(opt.only)));
  if (jobs.some((j) => j.startsWith("r50/"))) await prepareR50(assets);
  const results = [];
  for (const job of jobs) {
    const [key, name] = job.split("/");
    const r = await benchOne(assets, key, name, torchVersion);
    console.log(
      `${job}: robustlens ${r.robustlens_ms} ms, PyTorch ${r.pytorch_ms} ms, ratio ${r.ratio}${r.gflops ? `, ${r.gflops} GFLOPS` : ""}${r.check.ok ? "" : "  CHECK FAILED " + JSON.stringify(r.check.max_rel_diff)}`,
    );
    results.push(r);
  }
  rmSync(assets, { recursive: true, force: true });
  const seconds = (performance.now() - t0) / 1000;
  printTable(results, ceiling, threads);
  const path = writeResults({ results, ceiling, threads, torchVersion, quick: opt.quick, partial: !!opt.only, seconds });
  console.log(`wrote ${path} (${seconds.toFixed(0)} s)`);
  if (results.some((r) => !r.check.ok)) {
    console.error("bench: some checks failed: the two sides disagree (see check in the results)");
    process.exit(1);
  }
}

await main();
