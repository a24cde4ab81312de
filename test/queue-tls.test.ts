// rediss:// against Debian's redis-server built with TLS, certificates made by openssl here: a sharded eval equals the
// local one; a missing CA or client certificate fails in one line.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { cli, fixtureDir, tmp } from "./helpers.js";
import { type Proc, type RedisServer, robustlens, startRedis, startWorker, stop } from "./queue-helpers.js";

const fx = resolve(fixtureDir("fmnist_small"));
const dir = tmp();
const pem = (name: string) => join(dir, `${name}.pem`);
const evalArgs = (out: string) => [
  "eval",
  ...["--model", join(fx, "model.onnx"), "--data", `npy:${join(fx, "x.npy")},${join(fx, "labels.npy")}?limit=32`],
  ...["--eps", "1", "--steps", "3", "--random-start", "--batch-size", "16", "--no-plot", "--out", out],
];

/** A private CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it (EC P-256: quick). */
function makeCertificates(): void {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...key, "-keyout", pem("ca-key"), "-out", pem("ca"), "-days", "2", "-subj", "/CN=robustlens test CA");
  for (const [name, ext] of [
    ["server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"],
    ["client", "extendedKeyUsage=clientAuth\n"],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl("req", ...key, "-keyout", pem(`${name}-key`), "-out", join(dir, `${name}.csr`), "-subj", `/CN=robustlens ${name}`);
    ssl(
      "x509",
      "-req",
      "-in",
      join(dir, `${name}.csr`),
      "-CA",
      pem("ca"),
      "-CAkey",
      pem("ca-key"),
      "-CAcreateserial",
      "-out",
      pem(name),
      "-days",
      "2",
      "-extfile",
      join(dir, `${name}.ext`),
    );
  }
}

const TLS_ENV = () => ({ ROBUSTLENS_QUEUE_CA: pem("ca"), ROBUSTLENS_QUEUE_CERT: pem("client"), ROBUSTLENS_QUEUE_KEY: pem("client-key") });
let redis: RedisServer;
let worker: Proc;

before(async () => {
  makeCertificates();
  // tls-auth-clients is on by default: the server also wants a client certificate from the CA
  redis = await startRedis({ tls: { cert: pem("server"), key: pem("server-key"), ca: pem("ca") } });
  worker = await startWorker(redis.url, [fx], TLS_ENV());
});

after(async () => {
  if (worker) await stop(worker.p);
  await redis?.stop();
});

test("eval --queue rediss:// (private CA, client certificates) equals the local eval", async () => {
  assert.match(redis.url, /^rediss:\/\//);
  const local = join(dir, "local.json"),
    queued = join(dir, "queued.json");
  const l = cli(evalArgs(local));
  assert.equal(l.status, 0, l.stderr);
  const r = await robustlens([...evalArgs(queued), "--queue", redis.url, "--shard-size", "16"], TLS_ENV()).done;
  assert.equal(r.status, 0, r.stderr);
  const strip = (p: string) => ({ ...(JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>), seconds: 0, shards: null });
  assert.deepEqual(strip(queued), strip(local));
  const shards = (JSON.parse(readFileSync(queued, "utf8")) as { shards: { queue: string; list: unknown[] } }).shards;
  assert.equal(shards.queue, `rediss://127.0.0.1:${redis.port}`);
  assert.equal(shards.list.length, 2);
});

test("rediss:// without the private CA, or without a client certificate: one line naming the URL and the TLS failure, exit 1", async () => {
  const url = `rediss://127.0.0.1:${redis.port}`;
  const noCa = await robustlens([...evalArgs(join(dir, "x.json")), "--queue", redis.url], {
    ROBUSTLENS_QUEUE_CERT: pem("client"),
    ROBUSTLENS_QUEUE_KEY: pem("client-key"),
  }).done;
  const noCert = await robustlens(["worker", "--queue", redis.url, "--allow", fx], { ROBUSTLENS_QUEUE_CA: pem("ca") }).done;
  for (const [r, why] of [
    [noCa, /self-signed certificate in certificate chain|unable to get local issuer certificate/],
    [noCert, /certificate required|CERTIFICATE_REQUIRED|ECONNRESET|socket disconnected/i],
  ] as const) {
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`robustlens: queue ${url}: cannot connect: `), r.stderr);
    assert.match(r.stderr, why);
  }
});
