import assert from "node:assert/strict";
import { mkdirSync, copyFileSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { tmp } from "./helpers.js";
import { type Served, serveExplorer } from "./explorer-helpers.js";

let s: Served;
let userDir: string;

before(async () => {
  userDir = tmp();
  mkdirSync(join(userDir, "mine"));
  copyFileSync("test/fixtures/fmnist_small/model.onnx", join(userDir, "mine", "model.onnx"));
  const outside = tmp();
  writeFileSync(join(outside, "model.onnx"), "secret");
  writeFileSync(join(outside, "secret.json"), "{}");
  // a model folder that is a symlink out of the models folder
  symlinkSync(outside, join(userDir, "escape"));
  s = await serveExplorer(["--models", userDir]);
});
after(async () => {
  await s?.stop();
});

/** A raw request: the path goes out byte for byte (fetch would normalize "..").*/
function raw(
  path: string,
  o: { method?: string; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(s.url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method: o.method ?? "GET", headers: o.headers }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => ok({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", (e) =>
      (e as NodeJS.ErrnoException).code === "EPIPE" || (e as NodeJS.ErrnoException).code === "ECONNRESET"
        ? ok({ status: 413, headers: {}, body: "" })
        : fail(e),
    );
    req.end(o.body);
  });
}

test("explore serves the bundle cross-origin isolated, on 127.0.0.1, with the zoo and the user's models listed", async () => {
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await raw("/");
  assert.equal(page.status, 200);
  assert.match(page.body, /robustlens explorer/);
  assert.equal(page.headers["cross-origin-opener-policy"], "same-origin");
  assert.equal(page.headers["cross-origin-embedder-policy"], "require-corp");
  assert.match(String(page.headers["content-security-policy"]), /script-src 'self' 'wasm-unsafe-eval'/);
  const wasm = await raw("/ort/ort-wasm-simd-threaded.wasm", { method: "HEAD" });
  assert.equal(wasm.headers["content-type"], "application/wasm");
  const index = JSON.parse((await raw("/models/index.json")).body) as { models: { name: string; path: string }[] };
  assert.deepEqual(
    index.models.map((m) => m.name),
    ["fashion-mnist-l2", "fashion-mnist-l2-fast", "fashion-mnist-standard", "mnist-l2", "mnist-standard", "mine"],
  );
  assert.equal(index.models.at(-1)!.path, "user-models/mine/");
  assert.equal((await raw("/user-models/mine/model.onnx")).status, 200);
  assert.equal((await raw("/models/fashion-mnist-l2/model.json")).status, 200);
});

test("explore refuses traversal (plain, encoded, double-dot segments, symlinks out), hidden and non-model files", async () => {
  for (const p of [
    "/../package.json",
    "/%2e%2e/package.json",
    "/models/..%2f..%2fpackage.json",
    "/models/%2e%2e%2fmodels%2fREADME.md",
    "/user-models/escape/model.onnx",
    "/user-models/escape/secret.json",
    "/models/fashion-mnist-l2/metrics.jsonl",
    "/..%5c..%5cpackage.json",
    "/%00",
    "/%zz",
    "/.gitignore",
    "/models/../../package.json",
    "/nope.html",
  ]) {
    const r = await raw(p);
    assert.equal(r.status, 404, `${p} → ${r.status}`);
    assert.doesNotMatch(r.body, /secret|robustlens@|"name"/);
  }
});

test("explore refuses bodies, other methods and long URLs", async () => {
  assert.equal((await raw("/", { method: "POST", body: Buffer.alloc(3 << 20) })).status, 413);
  assert.equal((await raw("/", { method: "POST", headers: { "content-length": "0" } })).status, 405);
  assert.equal((await raw(`/${"a".repeat(5000)}`)).status, 414);
});
