// `npm run bench:queue`: `eval --queue` against the local `eval` on the same cores, on a private redis-server.
// 1. exactness under a fault: the local run, then the same eval over --workers workers with one SIGKILLed mid-shard;
// 2. overhead per shard: local vs 1 worker, alternating (L Q Q L per round), Redis flushed between queue runs.
// Options: --images N (default 2000) --workers W (3) --shard-size S (256) --overhead-images N (512) --rounds R (1)
//          --steps K (20) --out FILE (JSON of the figures)
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    images: { type: "string", default: "2000" },
    workers: { type: "string", default: "3" },
    "shard-size": { type: "string", default: "256" },
    "overhead-images": { type: "string", default: "512" },
    rounds: { type: "string", default: "1" },
    steps: { type: "string", default: "20" },
    out: { type: "string" },
  },
});
const MODEL = resolve("models/fashion-mnist-l2/model.onnx");
const dir = mkdtempSync(join(tmpdir(), "robustlens-bench-queue-"));
const procs = [];

const freePort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });

function start(cmd, args) {
  const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  p.err = "";
  p.stderr.on("data", (d) => (p.err += d));
  procs.push(p);
  return p;
}
const waitFor = (p, re) =>
  new Promise((res, rej) => {
    const t = setInterval(() => {
      const m = p.err.match(re);
      if (m) {
        clearInterval(t);
        res(m);
      } else if (p.exitCode !== null) {
        clearInterval(t);
        rej(new Error(`exited: ${p.err}`));
      }
    }, 50);
  });
const stop = (p, sig = "SIGTERM") =>
  p.exitCode !== null || p.signalCode ? Promise.resolve() : new Promise((r) => (p.once("exit", r), p.kill(sig)));

const port = await freePort();
const redis = start("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
const url = `redis://127.0.0.1:${port}`;
await new Promise((r) => setTimeout(r, 300));
const flush = () => spawnSync("redis-cli", ["-p", String(port), "flushall"]);

const evalArgs = (images, out) => [
  "bin/robustlens.js",
  "eval",
  ...["--model", MODEL, "--data", `fashion-mnist?limit=${images}`, "--eps", "0.5", "--attacks", "apgd-ce"],
  ...["--steps", opt.steps, "--batch-size", "64", "--out", out, "--no-plot"],
];
const startWorkers = async (n) => {
  const ws = Array.from({ length: n }, () =>
    start(process.execPath, ["bin/robustlens.js", "worker", "--queue", url, "--allow", resolve("models"), "--lock-duration", "10000"]),
  );
  await Promise.all(ws.map((w) => waitFor(w, /waiting for shards/)));
  return ws;
};
/** Runs an eval to completion; its report, with the wall time of the command. */
async function run(args, during) {
  const t0 = performance.now();
  const p = start(process.execPath, args);
  await during?.();
  const code = await new Promise((r) => p.once("close", r));
  if (code !== 0) throw new Error(`eval failed: ${p.err}`);
  const out = args[args.indexOf("--out") + 1];
  return { ...JSON.parse(readFileSync(out, "utf8")), wall: (performance.now() - t0) / 1000 };
}
const numbers = (r) => JSON.stringify({ ...r, seconds: 0, wall: 0, shards: undefined });

try {
  const images = Number(opt.images),
    W = Number(opt.workers);
  console.log(`cores ${availableParallelism()}; APGD-CE-${opt.steps} L2 eps 0.5 on fashion-mnist, model fashion-mnist-l2, batch 64`);

  // 1. exactness with a worker killed mid-shard
  const local = await run(evalArgs(images, join(dir, "local.json")));
  console.log(`local: ${images} images in ${local.seconds.toFixed(1)} s`);
  let workers = await startWorkers(W);
  let killed;
  const sharded = await run(
    [...evalArgs(images, join(dir, "sharded.json")), "--queue", url, "--shard-size", opt["shard-size"]],
    async () => {
      // the first worker to start a shard dies halfway through its first shard's expected time
      const first = await Promise.race(workers.map((w) => waitFor(w, /(eval-\S+) started/).then((m) => ({ w, job: m[1] }))));
      await new Promise((r) => setTimeout(r, ((local.seconds / (images / Number(opt["shard-size"]))) * 1000) / 2));
      killed = {
        worker: first.w.err.match(/robustlens worker (\S+):/)[1],
        job: first.job,
        done: first.w.err.includes(`${first.job} done`),
      };
      first.w.kill("SIGKILL");
    },
  );
  const equal = numbers(sharded) === numbers(local);
  const retried = sharded.shards.list.find((s) => killed.job.endsWith(`-${s.images}`));
  console.log(
    `queue, ${W} workers, one SIGKILLed (${killed.worker}, in ${killed.job}${killed.done ? ", after it finished" : ""}): ${sharded.shards.list.length} shards in ${sharded.seconds.toFixed(1)} s; ` +
      `equal to local: ${equal}; killed shard attempts ${retried.attempts}, finished by ${retried.worker}`,
  );
  if (!equal) throw new Error(`sharded report differs from the local one:\n${numbers(sharded)}\n${numbers(local)}`);
  await Promise.all(workers.map((w) => stop(w)));

  // 2. overhead per shard: the same eval locally and through the queue on one worker, alternating
  const n = Number(opt["overhead-images"]);
  workers = await startWorkers(1);
  const times = { local: [], queue: [] };
  let shards = 0;
  const latency = [];
  for (let r = 0; r < Number(opt.rounds); r++) {
    for (const side of ["local", "queue", "queue", "local"]) {
      flush();
      const args = evalArgs(n, join(dir, `${side}-${r}.json`));
      const logFrom = workers[0].err.length;
      const rep = await run(side === "queue" ? [...args, "--queue", url, "--shard-size", "64"] : args);
      times[side].push(rep.seconds);
      if (side !== "queue") continue;
      shards = rep.shards.list.length;
      // what the queue adds on top of the worker's own shard time: submit, pick-up, result, poll
      const work = [...workers[0].err.slice(logFrom).matchAll(/done in ([\d.]+) s/g)].reduce((t, m) => t + Number(m[1]), 0);
      latency.push(((rep.seconds - work) / shards) * 1000);
    }
  }
  const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
  const perShard = ((mean(times.queue) - mean(times.local)) / shards) * 1000;
  console.log(
    `overhead: ${n} images, local ${mean(times.local).toFixed(2)} s vs 1 worker ${mean(times.queue).toFixed(2)} s in ${shards} shards of 64: ` +
      `${perShard.toFixed(0)} ms per shard (${((100 * (mean(times.queue) - mean(times.local))) / mean(times.local)).toFixed(1)}%); ` +
      `queue latency (submitter time − worker shard time) ${mean(latency).toFixed(0)} ms per shard`,
  );
  const figures = {
    images,
    workers: W,
    local_s: local.seconds,
    sharded_s: sharded.seconds,
    shards: sharded.shards.list.length,
    equal,
    killed,
    killed_shard: retried,
    overhead: { images: n, shards, local_s: times.local, queue_s: times.queue, per_shard_ms: perShard, latency_ms: latency },
  };
  if (opt.out) writeFileSync(opt.out, JSON.stringify(figures, null, 2) + "\n");
} finally {
  for (const p of procs.reverse()) await stop(p, p === redis ? "SIGKILL" : "SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
