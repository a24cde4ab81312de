import assert from "node:assert/strict";
import { test } from "node:test";
import { collectGarbage, collectSoon } from "./gc.js";

test("collectSoon frees an unreachable 64 MB ArrayBuffer before it returns", async () => {
  collectGarbage();
  const base = process.memoryUsage().arrayBuffers;
  let big: Float32Array | undefined = new Float32Array(16 << 20);
  const ref = new WeakRef(big);
  big = undefined;
  assert.ok(process.memoryUsage().arrayBuffers - base >= 60 << 20);
  assert.ok(await collectSoon(), "no gc() available");
  assert.equal(ref.deref(), undefined, "the buffer survived a full collection");
  assert.ok(process.memoryUsage().arrayBuffers - base < 8 << 20, "ArrayBuffer memory did not go back down");
});
