// `robustlens data fetch` against a local server (never the internet), and --data specs through `eval`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { serializeIdx } from "robustlens";
import { fixtureDir, tmp } from "./helpers.js";

// The test serves files from this process, so the CLI must run without blocking the event loop (no spawnSync).
function run(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["bin/robustlens.js", ...args]);
    let stdout = "",
      stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

const files = new Map<string, Uint8Array>([
  [
    "train-images-idx3-ubyte.gz",
    gzipSync(
      serializeIdx(
        [4, 28, 28],
        Uint8Array.from({ length: 4 * 784 }, (_, i) => i % 256),
      ),
    ),
  ],
  ["train-labels-idx1-ubyte.gz", gzipSync(serializeIdx([4], Uint8Array.from([3, 1, 4, 1])))],
  ["t10k-images-idx3-ubyte.gz", gzipSync(serializeIdx([2, 28, 28], new Uint8Array(2 * 784).fill(128)))],
  ["t10k-labels-idx1-ubyte.gz", gzipSync(serializeIdx([2], Uint8Array.from([5, 9])))],
]);

test("data fetch: downloads and verifies from --base-url; a checksum mismatch is one line and leaves no file", async () => {
  const server = createServer((req, res) => {
    const body = files.get(req.url!.slice(1));
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const root = tmp();
    const sums = join(root, "sums.json");
    writeFileSync(
      sums,
      JSON.stringify(Object.fromEntries([...files].map(([k, v]) => [k, `sha256:${createHash("sha256").update(v).digest("hex")}`]))),
    );
    const dir = join(root, "mnist");
    const ok = await run(["data", "fetch", "mnist", "--dir", dir, "--base-url", base, "--checksums", sums]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /train-images-idx3-ubyte\.gz: 0\.0 MB from http:\/\/127\.0\.0\.1:\d+\/train-images-idx3-ubyte\.gz, checksum verified/,
    );
    assert.match(ok.stdout, /use --data mnist:/);
    assert.deepEqual(readdirSync(dir).sort(), [...files.keys()].sort());

    const bad = JSON.parse(readFileSync(sums, "utf8")) as Record<string, string>;
    bad["train-labels-idx1-ubyte.gz"] = `md5:${"ab".repeat(16)}`;
    writeFileSync(sums, JSON.stringify(bad));
    const dir2 = join(root, "mnist2");
    const r = await run(["data", "fetch", "mnist", "--dir", dir2, "--base-url", base, "--checksums", sums]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^robustlens: fetch mnist: http:\/\/127\.0\.0\.1:\d+\/train-labels-idx1-ubyte\.gz: md5 mismatch \(expected (ab){16}, got [0-9a-f]{32}\); nothing written for train-labels-idx1-ubyte\.gz\n$/,
    );
    assert.deepEqual(readdirSync(dir2), ["train-images-idx3-ubyte.gz"]);

    const u = await run(["data", "fetch", "imagenet", "--dir", dir2]);
    assert.equal(u.status, 1);
    assert.equal(u.stderr, 'robustlens: fetch: unknown dataset "imagenet" (one of mnist, fashion-mnist, cifar10)\n');
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test("eval takes --data fashion-mnist?limit=N (the test split) and rejects bad specs in one line", async () => {
  const model = join(fixtureDir("fmnist_small"), "model.onnx");
  const out = join(tmp(), "r.json");
  const r = await run(["eval", "--model", model, "--data", "fashion-mnist?limit=64", "--eps", "0.5", "--steps", "2", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(readFileSync(out, "utf8")) as { images: number; clean_accuracy: number };
  assert.equal(report.images, 64);
  assert.ok(report.clean_accuracy > 0.6, `clean accuracy ${report.clean_accuracy}`);
  const bad = await run(["eval", "--model", model, "--data", "cifar10", "--eps", "0.5"]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^robustlens: --data "cifar10": cifar10 needs a directory: cifar10:DIR \(expected .*\)\n$/);
});
