// eval and visualize --queue on a real redis-server: 3 workers equal the local run, a SIGKILLed worker's shard is retried, a poisoned
// shard fails the job, resubmission reuses shards, paths outside --allow are refused, a Redis restart is survived.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { loadNpy, saveNpy } from "robustlens/node";
import { cli, fixtureDir, tmp } from "./helpers.js";
import { type Proc, type RedisServer, robustlens, startRedis, startWorker, stop, workerName } from "./queue-helpers.js";

const fx = resolve(fixtureDir("fmnist_small"));
const work = realpathSync(tmp());
const model = join(fx, "model.onnx");
const data = `npy:${join(fx, "x.npy")},${join(fx, "labels.npy")}?limit=64`;
// APGD and PGD with random starts and restarts: per-example seeds must not depend on the shard
const evalArgs = (seed: number, out: string) => [
  "eval",
  ...["--model", model, "--data", data, "--eps", "0.5,1", "--attacks", "apgd-ce,pgd", "--steps", "3"],
  ...["--random-start", "--restarts", "2", "--batch-size", "16", "--seed", String(seed), "--out", out, "--no-plot"],
];
const sharded = (seed: number, out: string, url: string) => [...evalArgs(seed, out), "--queue", url, "--shard-size", "16"];

interface Report {
  seconds: number;
  shards?: { shard_size: number; list: { images: string; worker: string; attempts: number; reused: boolean }[] };
  [k: string]: unknown;
}
const read = (p: string): Report => JSON.parse(readFileSync(p, "utf8")) as Report;
/** The report without what differs between runs of the same numbers. */
const numbers = (r: Report) => ({ ...r, seconds: 0, shards: undefined });

const local: Record<number, Report> = {};
let redis: RedisServer;
let workers: Proc[] = [];

before(async () => {
  redis = await startRedis();
  workers = await Promise.all([0, 1, 2].map(() => startWorker(redis.url, [fx, work])));
  for (const seed of [0, 1]) {
    const out = join(work, `local-${seed}.json`);
    const r = cli(evalArgs(seed, out));
    assert.equal(r.status, 0, r.stderr);
    local[seed] = read(out);
  }
});

after(async () => {
  await Promise.all(workers.map((w) => stop(w.p)));
  await redis?.stop();
});

test("eval --queue over 3 workers equals the local eval exactly; the report records the shard layout; a resubmission reuses every shard", async () => {
  const out = join(work, "sharded.json");
  const r = await robustlens(sharded(0, out, redis.url)).done;
  assert.equal(r.status, 0, r.stderr);
  const rep = read(out);
  assert.deepEqual(numbers(rep), numbers(local[0]!));
  const list = rep.shards!.list;
  assert.deepEqual(
    list.map((s) => s.images),
    ["0-16", "16-32", "32-48", "48-64"],
  );
  const names = workers.map(workerName);
  assert.ok(list.every((s) => names.includes(s.worker) && !s.reused));
  assert.ok(new Set(list.map((s) => s.worker)).size > 1, `one worker ran every shard: ${JSON.stringify(list)}`);

  const started = workers.map((w) => (w.stderr().match(/started/g) ?? []).length);
  const again = await robustlens(sharded(0, join(work, "again.json"), redis.url)).done;
  assert.equal(again.status, 0, again.stderr);
  const rep2 = read(join(work, "again.json"));
  assert.deepEqual(numbers(rep2), numbers(local[0]!));
  assert.ok(rep2.shards!.list.every((s) => s.reused));
  assert.deepEqual(
    workers.map((w) => (w.stderr().match(/started/g) ?? []).length),
    started,
    "a reused shard ran again",
  );
});

test("visualize --features all --queue: every unit's visualization equals the local run's, byte for byte", async () => {
  const args = ["visualize", "--model", model, "--features", "all", "--steps", "3", "--batch-size", "16"];
  const loc = cli([...args, "--out", join(work, "vis-local.png")]);
  assert.equal(loc.status, 0, loc.stderr);
  const r = await robustlens([...args, "--out", join(work, "vis-queue.png"), "--queue", redis.url, "--shard-size", "16"]).done;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(sharded: 4 shards of 16 features on redis:\/\/127\.0\.0\.1:\d+ \(\d workers?\)\)/);
  assert.equal((await loadNpy(join(work, "vis-queue.npy"))).shape[0], 64);
  assert.ok(readFileSync(join(work, "vis-queue.npy")).equals(readFileSync(join(work, "vis-local.npy"))));
  assert.ok(readFileSync(join(work, "vis-queue.png")).equals(readFileSync(join(work, "vis-local.png"))));
});

test("a worker SIGKILLed mid-shard: its shard runs again on another worker, nothing lost or counted twice", async () => {
  const out = join(work, "killed.json");
  const sub = robustlens(sharded(1, out, redis.url));
  // the first worker to start a shard of this job dies with it
  const [victim, m] = await Promise.race(workers.map((w) => w.waitFor(/(eval-\S+) started/).then((m) => [w, m] as const)));
  const name = workerName(victim);
  const shard = m[1]!;
  victim.p.kill("SIGKILL");
  const r = await sub.done;
  assert.equal(r.status, 0, r.stderr);
  const rep = read(out);
  assert.deepEqual(numbers(rep), numbers(local[1]!));
  const rec = rep.shards!.list.find((s) => shard.endsWith(`-${s.images}`))!;
  assert.ok(rec.attempts >= 2, `the killed shard ${shard} was not retried: ${JSON.stringify(rec)}`);
  assert.notEqual(rec.worker, name);
  assert.ok(rep.shards!.list.every((s) => s.worker !== name || s !== rec));
  workers = workers.filter((w) => w !== victim);
  workers.push(await startWorker(redis.url, [fx, work]));
});

test("a poisoned shard (an image that makes the logits non-finite) fails the job with that shard's one-line error and exit 1", async () => {
  const x = await loadNpy(join(fx, "x.npy"));
  const per = x.data.length / x.shape[0]!;
  const bad = Float32Array.from(x.data as ArrayLike<number>, (v) => (x.dtype === "uint8" ? v / 255 : v));
  bad.fill(3e38, 40 * per, 41 * per);
  const dir = join(work, "poison");
  mkdirSync(dir);
  await saveNpy(join(dir, "x.npy"), { dtype: "float32", shape: x.shape, data: bad } as Parameters<typeof saveNpy>[1]);
  copyFileSync(join(fx, "labels.npy"), join(dir, "labels.npy"));
  const args = [
    ...sharded(0, join(dir, "eval.json"), redis.url).map((a) => (a === data ? `npy:${dir}/x.npy,${dir}/labels.npy` : a)),
    "--limit",
    "64",
  ];
  const r = await robustlens(args).done;
  assert.equal(r.status, 1);
  // the loader's warning about the out-of-range image, then the one error line
  const errors = r.stderr
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith("robustlens: warning:"));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(
    errors[0]!,
    /^robustlens: shard images 32-48 failed: worker \S+: --data ".*x\.npy.*": image 40: the model's logits are not finite/,
  );
});

test("workers refuse models and data outside --allow, naming the path; the submitter exits 1", async () => {
  const outside = realpathSync(tmp());
  copyFileSync(model, join(outside, "model.onnx"));
  // seed 3: a job no earlier test finished (finished shards of the same bytes would be reused without reading anything)
  const args = sharded(3, join(work, "refused.json"), redis.url).map((a) => (a === model ? join(outside, "model.onnx") : a));
  const r = await robustlens(args).done;
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`model ${join(outside, "model.onnx")} is outside the folders this worker may read \\(--allow `));
  // and data: the same images copied outside (seed 4: a new job)
  for (const f of ["x.npy", "labels.npy"]) copyFileSync(join(fx, f), join(outside, f));
  const outData = `npy:${join(outside, "x.npy")},${join(outside, "labels.npy")}?limit=64`;
  const d = await robustlens(sharded(4, join(work, "refused-data.json"), redis.url).map((a) => (a === data ? outData : a))).done;
  assert.equal(d.status, 1);
  assert.equal(d.stderr.trim().split("\n").length, 1, d.stderr);
  assert.match(d.stderr, new RegExp(`data ${join(outside, "x.npy")} is outside the folders this worker may read \\(--allow `));
});

test("a password-protected Redis: workers and submitter with the password in the URL equal the local run; it appears nowhere", async () => {
  const secret = "s3cret-pw";
  const auth = await startRedis({ password: secret });
  const w = await startWorker(auth.url, [fx]);
  try {
    const out = join(work, "auth.json");
    const ok = await robustlens(sharded(0, out, auth.url)).done;
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(numbers(read(out)), numbers(local[0]!));
    assert.ok(![ok.stdout, ok.stderr, w.stderr(), readFileSync(out, "utf8")].some((t) => t.includes(secret)), "the password leaked");
  } finally {
    await stop(w.p);
    await auth.stop();
  }
});

test("Redis restarted empty mid-job: workers reconnect, the submitter resubmits the vanished shards, results stay exact", async () => {
  // seed 1 in shards of 32: new job ids (and another layout that must equal the local run too)
  const out = join(work, "restart.json");
  const sub = robustlens([...sharded(1, out, redis.url).slice(0, -1), "32"]);
  await Promise.race(workers.map((w) => w.waitFor(/eval-\S+-0-32 started/)));
  await redis.stop();
  await new Promise((r) => setTimeout(r, 500));
  redis = await startRedis({ port: redis.port });
  const r = await sub.done;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /vanished from Redis/);
  const rep = read(out);
  assert.equal(rep.shards!.shard_size, 32);
  assert.deepEqual(numbers(rep), numbers(local[1]!));
});
