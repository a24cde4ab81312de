// The queue's Redis connection on its own (URL checks, refusals in one line, passwords kept out of messages, TLS settings)
// and the workers' input checks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect, queueTarget, tlsOptions } from "../src/cli/queue/connection.js";
import { join, resolve } from "node:path";
import { AllowedRoots, InputCache, absoluteImages, modelRef } from "../src/cli/queue/inputs.js";
import { imagesHash, reportShard } from "../src/cli/queue/report-jobs.js";
import { reportImages } from "../src/cli/report-inputs.js";
import { cli, fixtureDir } from "./helpers.js";
import { freePort, startRedis } from "./queue-helpers.js";

test("queue URLs: redis:// and rediss:// with host, port and db; anything else refused in one line; credentials never displayed", () => {
  assert.equal(queueTarget("redis://127.0.0.1:6379").display, "redis://127.0.0.1:6379");
  assert.equal(queueTarget("rediss://user:pw@cache.example:6380/2").display, "rediss://cache.example:6380/2");
  assert.throws(
    () => queueTarget("http://127.0.0.1:6379"),
    /^Error: --queue: http:\/\/ is not a Redis URL \(expected redis:\/\/ or rediss:\/\/ for TLS\)$/,
  );
  assert.throws(() => queueTarget("redis://h:1/x"), /--queue: database "x" must be a number/);
  assert.throws(
    () => queueTarget("redis//:pw@nohost"),
    (e: Error) => !e.message.includes("pw") && /not a URL/.test(e.message),
  );
});

test("connect: nobody listening fails within seconds naming the URL; a password-protected Redis refuses a missing or wrong password", async () => {
  const port = await freePort();
  const t0 = Date.now();
  await assert.rejects(connect(queueTarget(`redis://127.0.0.1:${port}`), "submitter"), {
    message: `queue redis://127.0.0.1:${port}: cannot connect: ECONNREFUSED`,
  });
  assert.ok(Date.now() - t0 < 6000, `took ${Date.now() - t0} ms`);
  const secret = "pw-not-to-print";
  const r = await startRedis({ password: secret });
  try {
    await assert.rejects(connect(queueTarget(`redis://127.0.0.1:${r.port}`), "worker"), {
      message: /^queue redis:\/\/127\.0\.0\.1:\d+: cannot connect: NOAUTH Authentication required\. \(put the password in the URL/,
    });
    await assert.rejects(connect(queueTarget(`redis://:wrong-${secret}@127.0.0.1:${r.port}`), "worker"), (e: Error) => {
      assert.match(e.message, /cannot connect: WRONGPASS/);
      assert.ok(!e.message.includes(secret));
      return true;
    });
    const c = await connect(queueTarget(r.url), "submitter");
    assert.equal(await c.redis.ping(), "PONG");
    await c.close();
  } finally {
    await r.stop();
  }
});

test("eval: a shard size that splits batches, or --shard-size without --queue, is refused before any work", () => {
  const base = ["eval", "--model", "nonexistent.onnx", "--data", "mnist", "--eps", "1", "--batch-size", "16"];
  const a = cli([...base, "--queue", "redis://127.0.0.1:1", "--shard-size", "24"]);
  assert.equal(a.status, 1);
  assert.equal(
    a.stderr,
    "robustlens: --shard-size 24 must be a multiple of --batch-size 16 (shards hold whole batches) (see robustlens eval --help)\n",
  );
  const b = cli([...base, "--shard-size", "32"]);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /^robustlens: --shard-size needs --queue URL/);
});

test("TLS settings: PEM files from ROBUSTLENS_QUEUE_CA/CERT/KEY for rediss:// only; unreadable files and half a client pair refused in one line", () => {
  const ca = "test/fixtures/fmnist_small/README.md";
  assert.equal(tlsOptions(queueTarget("redis://127.0.0.1:6379"), {}), undefined);
  assert.deepEqual(Object.keys(tlsOptions(queueTarget("rediss://127.0.0.1:6380"), { ROBUSTLENS_QUEUE_CA: ca })!), ["ca"]);
  assert.throws(
    () => tlsOptions(queueTarget("redis://127.0.0.1:6379"), { ROBUSTLENS_QUEUE_CA: ca }),
    /^Error: ROBUSTLENS_QUEUE_CA is set but --queue redis:\/\/127\.0\.0\.1:6379 is not TLS \(use rediss:\/\/\)$/,
  );
  assert.throws(
    () => tlsOptions(queueTarget("rediss://127.0.0.1:6380"), { ROBUSTLENS_QUEUE_CA: "/nonexistent/ca.pem" }),
    /^Error: ROBUSTLENS_QUEUE_CA \/nonexistent\/ca\.pem: cannot read it \(ENOENT\)$/,
  );
  assert.throws(
    () => tlsOptions(queueTarget("rediss://127.0.0.1:6380"), { ROBUSTLENS_QUEUE_CERT: ca }),
    /ROBUSTLENS_QUEUE_CERT and ROBUSTLENS_QUEUE_KEY go together/,
  );
});

test("workers' inputs: IMAGES arguments made absolute (indices kept); bytes that differ from the submitter's hash are refused", async () => {
  const fx = resolve(fixtureDir("fmnist_small"));
  assert.deepEqual(absoluteImages("fashion-mnist:0-9", "/w"), { arg: "fashion-mnist:0-9", paths: [] });
  assert.deepEqual(absoluteImages("npy:a/x.npy,y.npy?limit=5:3,4", "/w"), {
    arg: "npy:/w/a/x.npy,/w/y.npy?limit=5:3,4",
    paths: ["/w/a/x.npy", "/w/y.npy"],
  });
  assert.deepEqual(absoluteImages("x.npy:0-3", "/w"), { arg: "/w/x.npy:0-3", paths: ["/w/x.npy"] });
  assert.deepEqual(absoluteImages("cat.png,pics", "/w"), { arg: "/w/cat.png,/w/pics", paths: ["/w/cat.png", "/w/pics"] });
  const inputs = new InputCache(await AllowedRoots.of([fx]));
  const model = await modelRef(join(fx, "model.onnx"));
  await assert.rejects(
    inputs.model({ ...model, sha256: "0".repeat(64) }),
    /^Error: model \S+model\.onnx on this worker differs from the submitter's \(sha256 [0-9a-f]{12}, expected 000000000000\)$/,
  );
  const spec = `npy:${join(fx, "x.npy")},${join(fx, "labels.npy")}`;
  await assert.rejects(
    inputs.dataset({ spec, n: 8, sha256: "0".repeat(64) }),
    /^Error: data "npy:\S+" on this worker differs from the submitter's/,
  );
  const images = { data: spec, count: 4, shape: { channels: 1 as const, height: 28, width: 28 } };
  const good = {
    model,
    images: { ...images, sha256: imagesHash(await reportImages(images, images.shape)) },
    cfg: { scale: 0.01, features: 1, topK: 1, addCount: 1 },
  };
  assert.deepEqual(Object.keys((await reportShard({ ...good, experiments: ["accuracy"] }, inputs)) as object), ["accuracy"]);
  await assert.rejects(
    reportShard({ ...good, images: { ...good.images, count: 5, sha256: "0".repeat(64) }, experiments: ["accuracy"] }, inputs),
    /^Error: report images "npy:\S+" on this worker differ from the submitter's$/,
  );
});
