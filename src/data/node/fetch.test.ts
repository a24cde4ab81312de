import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { serializeCifarBatch } from "../cifar.js";
import { serializeIdx } from "../idx.js";
import { writeTar } from "../tar.js";
import { fetchDataset } from "./fetch.js";
import { loadDataset } from "./load.js";
import { withTempDir } from "../../testing/tmp.js";

/** Serves `files` on 127.0.0.1 only; counts requests. */
async function serve(files: Map<string, Uint8Array>): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url!);
    const body = files.get(req.url!.replace(/^\/mirror\//, ""));
    res.writeHead(body ? 200 : 404, { "content-type": "application/octet-stream" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/mirror/`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const md5 = (b: Uint8Array) => `md5:${createHash("md5").update(b).digest("hex")}`;

function idxFiles(): Map<string, Uint8Array> {
  const px = (n: number) => Uint8Array.from({ length: n * 784 }, (_, i) => i % 251);
  return new Map([
    ["train-images-idx3-ubyte.gz", gzipSync(serializeIdx([3, 28, 28], px(3)))],
    ["train-labels-idx1-ubyte.gz", gzipSync(serializeIdx([3], Uint8Array.from([4, 2, 9])))],
    ["t10k-images-idx3-ubyte.gz", gzipSync(serializeIdx([2, 28, 28], px(2)))],
    ["t10k-labels-idx1-ubyte.gz", gzipSync(serializeIdx([2], Uint8Array.from([1, 0])))],
  ]);
}

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("fetch", fn);

test("fetch downloads every file, verifies md5/sha256, and the result loads; a second fetch finds them present", () =>
  withDir(async (root) => {
    const files = idxFiles();
    const srv = await serve(files);
    try {
      const dir = join(root, "fm");
      const checksums = Object.fromEntries([...files].map(([k, v], i) => [k, i % 2 ? md5(v) : sha256(v)]));
      const events: string[] = [];
      const r = await fetchDataset("fashion-mnist", {
        dir,
        baseUrl: srv.url,
        checksums,
        onFile: (e) => events.push(`${e.file} ${e.status}`),
      });
      assert.deepEqual(r.files.sort(), [...files.keys()].sort());
      assert.deepEqual((await readdir(dir)).sort(), [...files.keys()].sort());
      assert.ok(events.every((e) => e.endsWith("downloaded")));
      const ds = await loadDataset(`fashion-mnist:${dir}`, "train");
      assert.deepEqual([...ds.labels], [4, 2, 9]);
      const before = srv.hits.length;
      await fetchDataset("fashion-mnist", { dir, baseUrl: srv.url, checksums, onFile: (e) => events.push(`${e.file} ${e.status}`) });
      assert.equal(srv.hits.length, before);
      assert.equal(events.filter((e) => e.endsWith("present")).length, 4);
    } finally {
      await srv.close();
    }
  }));

test("a checksum mismatch is one line, and leaves neither that file nor a temp file", () =>
  withDir(async (dir) => {
    const files = idxFiles();
    const srv = await serve(files);
    try {
      const checksums = Object.fromEntries([...files].map(([k, v]) => [k, sha256(v)]));
      checksums["t10k-images-idx3-ubyte.gz"] = `sha256:${"0".repeat(64)}`;
      await assert.rejects(fetchDataset("mnist", { dir, baseUrl: srv.url, checksums }), (e: Error) => {
        assert.match(
          e.message,
          /^fetch mnist: http:\/\/127\.0\.0\.1:\d+\/mirror\/t10k-images-idx3-ubyte\.gz: sha256 mismatch \(expected 0{64}, got [0-9a-f]{64}\); nothing written for t10k-images-idx3-ubyte\.gz$/,
        );
        return true;
      });
      const left = await readdir(dir);
      assert.ok(!left.includes("t10k-images-idx3-ubyte.gz"));
      assert.deepEqual(
        left.filter((f) => f.startsWith(".")),
        [],
      );
      // Without an override the published checksums apply, and these fixtures do not match them.
      await assert.rejects(
        fetchDataset("mnist", { dir: join(dir, "b"), baseUrl: srv.url }),
        /md5 mismatch \(expected f68b3c2dcbeaaa9fbdd348bbdeb94873, got /,
      );
      await assert.rejects(
        fetchDataset("mnist", { dir, baseUrl: `${srv.url}missing/` }),
        /: HTTP 404 Not Found; nothing written for train-images-idx3-ubyte\.gz$/,
      );
      await assert.rejects(
        fetchDataset("mnist", { dir, baseUrl: srv.url, checksums: { "x.gz": "md5:00" } }),
        /checksum given for "x\.gz", which is not one of its files/,
      );
      await assert.rejects(
        fetchDataset("mnist", { dir, baseUrl: srv.url, checksums: { "train-images-idx3-ubyte.gz": "md5:00" } }),
        /is not md5:<32 hex digits>/,
      );
      await assert.rejects(fetchDataset("svhn", { dir }), /unknown dataset "svhn"/);
    } finally {
      await srv.close();
    }
    // The server is closed now: its port refuses connections.
    await assert.rejects(
      fetchDataset("mnist", { dir, baseUrl: srv.url }),
      /mirror\/train-images-idx3-ubyte\.gz: ECONNREFUSED; nothing written/,
    );
  }));

test("cifar10: the archive is verified, unpacked flat into the directory, and not kept", () =>
  withDir(async (dir) => {
    const px = Uint8Array.from({ length: 3 * 3072 }, (_, i) => i % 256);
    const names = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];
    const entries = names.map((n, i) => ({ name: `cifar-10-batches-bin/${n}`, data: serializeCifarBatch(px, [i, 1, 2]) }));
    entries.push({ name: "cifar-10-batches-bin/batches.meta.txt", data: new TextEncoder().encode("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n") });
    const archive = gzipSync(writeTar(entries));
    const broken = gzipSync(writeTar(entries.slice(1)));
    const srv = await serve(
      new Map([
        ["cifar-10-binary.tar.gz", archive],
        ["broken/cifar-10-binary.tar.gz", broken],
      ]),
    );
    try {
      await assert.rejects(
        fetchDataset("cifar10", { dir, baseUrl: `${srv.url}broken/`, checksums: { "cifar-10-binary.tar.gz": md5(broken) } }),
        /^Error: fetch cifar10: cifar-10-binary\.tar\.gz lacks cifar-10-batches-bin\/data_batch_1\.bin$/,
      );
      assert.deepEqual(await readdir(dir), []);
      await fetchDataset("cifar10", { dir, baseUrl: srv.url, checksums: { "cifar-10-binary.tar.gz": md5(archive) } });
      assert.deepEqual((await readdir(dir)).sort(), [...names, "batches.meta.txt"].sort());
      const tr = await loadDataset(`cifar10:${dir}`, "train");
      assert.equal(tr.size, 15);
      assert.deepEqual(tr.classes.slice(0, 2), ["a", "b"]);
    } finally {
      await srv.close();
    }
  }));
