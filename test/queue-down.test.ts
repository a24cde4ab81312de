// A Redis that is down, silent, or goes away mid-job for good: submitter and worker end in one line naming the URL, in
// bounded time, with exit code 1 (no hang, no stack trace).
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fixtureDir, tmp } from "./helpers.js";
import { freePort, robustlens, startRedis, startWorker, stop } from "./queue-helpers.js";

const fx = resolve(fixtureDir("fmnist_small"));
const evalArgs = (url: string, seed: number, extra: string[] = []) => [
  "eval",
  ...["--model", join(fx, "model.onnx"), "--data", `npy:${join(fx, "x.npy")},${join(fx, "labels.npy")}?limit=64`],
  ...["--eps", "1", "--steps", "5", "--batch-size", "16", "--seed", String(seed), "--no-plot", "--out", join(tmp(), "eval.json")],
  ...["--queue", url, ...extra],
];

/** Runs robustlens to its end; the wall time it took. */
async function timed(args: string[]): Promise<{ status: number | null; stderr: string; seconds: number }> {
  const t0 = Date.now();
  const r = await robustlens(args).done;
  return { status: r.status, stderr: r.stderr, seconds: (Date.now() - t0) / 1000 };
}

const oneLine = (stderr: string, re: RegExp) => {
  assert.equal(stderr.trim().split("\n").length, 1, stderr);
  assert.match(stderr.trimEnd(), re);
  assert.doesNotMatch(stderr, /\n\s+at /, "a stack trace");
};

test("nobody listening on the queue's port: the submitter and a worker each fail in one line naming the URL within seconds", async () => {
  const url = `redis://127.0.0.1:${await freePort()}`;
  const [sub, worker] = await Promise.all([timed(evalArgs(url, 0)), timed(["worker", "--queue", url, "--allow", fx])]);
  for (const r of [sub, worker]) {
    assert.equal(r.status, 1);
    oneLine(r.stderr, new RegExp(`^robustlens: queue ${url.replace(/\//g, "\\/")}: cannot connect: ECONNREFUSED$`));
    assert.ok(r.seconds < 20, `took ${r.seconds} s`);
  }
});

test("a server that accepts but never answers (no Redis, a black hole): both give up after their timeout, naming the URL", async () => {
  const sockets = new Set<import("node:net").Socket>();
  const silent = createServer((s) => sockets.add(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const url = `redis://127.0.0.1:${(silent.address() as { port: number }).port}`;
  try {
    // the submitter waits at most its --queue-timeout (here 2 s), a worker 10 s
    const [sub, worker] = await Promise.all([
      timed(evalArgs(url, 0, ["--queue-timeout", "2"])),
      timed(["worker", "--queue", url, "--allow", fx]),
    ]);
    for (const [r, s] of [
      [sub, 2],
      [worker, 10],
    ] as const) {
      assert.equal(r.status, 1);
      oneLine(
        r.stderr,
        new RegExp(`^robustlens: queue ${url.replace(/\//g, "\\/")}: cannot connect: no answer within ${s} s \\(not a Redis server`),
      );
      assert.ok(r.seconds >= s && r.seconds < s + 15, `took ${r.seconds} s`);
    }
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

for (const how of ["killed", "frozen"] as const) {
  test(`Redis ${how} mid-job and never back: the submitter ends after --queue-timeout with one line; the worker keeps retrying`, async () => {
    const redis = await startRedis();
    const w = await startWorker(redis.url, [fx]);
    try {
      const sub = robustlens(evalArgs(redis.url, how === "killed" ? 1 : 2, ["--queue-timeout", "3"]));
      await w.waitFor(/eval-\S+ started/);
      const t0 = Date.now();
      // killed: connections refused; frozen (SIGSTOP): connections stay open and nothing answers
      if (how === "killed") await redis.stop();
      else process.kill(redis.pid, "SIGSTOP");
      const r = await sub.done;
      const seconds = (Date.now() - t0) / 1000;
      assert.equal(r.status, 1);
      const why = how === "killed" ? "ECONNREFUSED" : "Command timed out";
      oneLine(
        r.stderr,
        new RegExp(
          `^robustlens: queue redis://127\\.0\\.0\\.1:${redis.port}: unreachable for 3 s \\(${why}\\); shards finished so far stay in Redis if it keeps its data — rerun the command to resume`,
        ),
      );
      assert.ok(seconds >= 3 && seconds < 3 + 12, `ended ${seconds} s after Redis went away`);
      if (how === "killed") {
        for (let i = 0; i < 100 && !/connection lost/.test(w.stderr()); i++) await new Promise((r) => setTimeout(r, 100));
        assert.match(w.stderr(), /queue redis:\/\/127\.0\.0\.1:\d+: connection lost \(ECONNREFUSED\); retrying/);
      }
      assert.equal(w.p.exitCode, null, "the worker gave up");
    } finally {
      if (how === "frozen") process.kill(redis.pid, "SIGCONT");
      // SIGKILL: a graceful stop would wait for its shard, which cannot report back to a Redis that is gone
      await stop(w.p, "SIGKILL");
      await redis.stop();
    }
  });
}
