// report --queue on a real redis-server: one shard per model and experiment over 3 workers gives the local report's
// numbers, figures, plots and page; workers refuse report images outside --allow.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { cli, fixtureDir, tmp } from "./helpers.js";
import { type Proc, type RedisServer, robustlens, startRedis, startWorker, stop, workerName } from "./queue-helpers.js";

const fx = resolve(fixtureDir("fmnist_small"));
const zoo = resolve("models");
const work = realpathSync(tmp());
const data = (dir: string) => `npy:${join(dir, "x.npy")},${join(dir, "labels.npy")}?limit=64`;
// two models (each judges the other), the built-in eval (one PGD batch per model): every kind of report work, kept small
const reportArgs = (out: string, dir = fx) => [
  "report",
  ...["--models", `${join(fx, "model.onnx")},${join(zoo, "fashion-mnist-standard/model.onnx")}`, "--data", data(dir)],
  ...["--count", "4", "--scale", "0.02", "--robustness", "builtin", "--eval-eps", "1", "--out", out],
];

interface Metrics {
  shards?: { queue: string; list: { model: string; experiments: string[]; worker: string; attempts: number; reused: boolean }[] };
  [k: string]: unknown;
}
const json = (p: string) => JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>;
/** A report or eval JSON without its shard layout and timing (what a local run has not, or has otherwise). */
const numbers = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== "shards" && k !== "seconds"));
/** The page without what differs between two runs of the same numbers: the generation time and the shard note. */
const page = (dir: string) =>
  readFileSync(join(dir, "index.html"), "utf8")
    .replace(/generated \d{4}-\d\d-\d\d \d\d:\d\d UTC/, "generated (time)")
    .replace(/<li>Sharded: [^<]*<\/li>/, "");

let redis: RedisServer;
let workers: Proc[] = [];
const local = join(work, "local");

before(async () => {
  redis = await startRedis();
  workers = await Promise.all([0, 1, 2].map(() => startWorker(redis.url, [fx, zoo, work])));
  const r = cli(reportArgs(local));
  assert.equal(r.status, 0, r.stderr);
});

after(async () => {
  await Promise.all(workers.map((w) => stop(w.p)));
  await redis?.stop();
});

test("report --queue over 3 workers equals the local report: metrics, every figure and plot byte for byte, the page; the layout is recorded", async () => {
  const out = join(work, "sharded");
  const r = await robustlens([...reportArgs(out), "--queue", redis.url]).done;
  assert.equal(r.status, 0, r.stderr);
  const m = json(join(out, "metrics.json")) as Metrics;
  assert.deepEqual(numbers(m), json(join(local, "metrics.json")));
  const figures = readdirSync(join(local, "figures")).sort();
  assert.deepEqual(readdirSync(join(out, "figures")).sort(), figures);
  for (const f of figures)
    assert.ok(readFileSync(join(out, "figures", f)).equals(readFileSync(join(local, "figures", f))), `figures/${f} differs`);
  assert.equal(page(out), page(local));
  assert.match(
    readFileSync(join(out, "index.html"), "utf8"),
    /<li>Sharded: 22 shards \(one per model and experiment\) on redis:\/\/127\.0\.0\.1:\d+, \d workers?/,
  );

  // the built-in eval ran on the workers too, with the local eval's numbers
  const evals = readdirSync(join(local, "eval")).sort();
  assert.equal(evals.length, 2);
  for (const e of evals) {
    const [a, b] = [json(join(out, "eval", e)), json(join(local, "eval", e))];
    assert.ok(a.shards, `eval/${e} has no shard layout`);
    assert.deepEqual(numbers(a), numbers(b));
  }

  // 11 shards per model: feature addition reads the features experiment's results, so it runs in that shard
  const list = m.shards!.list;
  assert.equal(list.length, 22);
  assert.deepEqual(
    list.filter((s) => s.model === "fmnist_small").map((s) => s.experiments.join("+")),
    [
      "accuracy",
      "invert",
      "ood",
      "interpolate",
      "features+add",
      "saliency",
      "generate",
      "inpaint",
      "superResolve",
      "translate",
      "sketch",
    ].filter((id) => id !== "add"),
  );
  const names = workers.map(workerName);
  assert.ok(
    list.every((s) => names.includes(s.worker) && s.attempts === 1 && !s.reused),
    JSON.stringify(list),
  );
  assert.ok(new Set(list.map((s) => s.worker)).size > 1, "one worker ran every shard");

  // a resubmission runs nothing again
  const started = workers.map((w) => (w.stderr().match(/report-\S+ started/g) ?? []).length);
  const again = await robustlens([...reportArgs(join(work, "again")), "--queue", redis.url]).done;
  assert.equal(again.status, 0, again.stderr);
  const m2 = json(join(work, "again", "metrics.json")) as Metrics;
  assert.ok(m2.shards!.list.every((s) => s.reused));
  assert.deepEqual(numbers(m2), json(join(local, "metrics.json")));
  assert.deepEqual(
    workers.map((w) => (w.stderr().match(/report-\S+ started/g) ?? []).length),
    started,
  );
});

test("report --queue: workers refuse report images outside --allow, naming the path; the submitter exits 1 with one line", async () => {
  const outside = realpathSync(tmp());
  for (const f of ["x.npy", "labels.npy"]) copyFileSync(join(fx, f), join(outside, f));
  // --count 5: other targets, so no finished shard of the first test is reused (that would read nothing)
  const r = await robustlens([...reportArgs(join(work, "refused"), outside), "--count", "5", "--queue", redis.url]).done;
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^robustlens: shard fmnist_small \\S+ failed: worker \\S+: images ${join(outside, "x.npy")} is outside the folders this worker may read \\(--allow `,
    ),
  );
});
