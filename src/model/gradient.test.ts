import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadNpy } from "../data/node/npy-file.js";
import { sliceBatch } from "../ir/batch.js";
import { countingExecutor } from "../testing/counting.js";
import { FORWARD_CACHE_SIZE, forward, releaseForward } from "./gradient.js";
import { Model } from "./model.js";

test("forward() compiles once per batch size and value, keeps the most recent few, and releases them", async () => {
  const path = "test/fixtures/fmnist_small/model.onnx";
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = await loadNpy("test/fixtures/fmnist_small/x.npy");
  const { exec, counts: c } = countingExecutor();
  const first = await forward(exec, model, x);
  const again = await forward(exec, model, x);
  assert.equal(c.compiled, 1);
  assert.deepEqual(again.data, first.data);
  await forward(exec, model, x, model.graph(1).outputs.at(-1)!.name);
  assert.equal(c.compiled, 2);
  // more batch sizes than the cache holds: the least recently used programs are disposed
  for (let n = 1; n <= FORWARD_CACHE_SIZE; n++) await forward(exec, model, sliceBatch(x, 0, n));
  assert.equal(c.compiled, 2 + FORWARD_CACHE_SIZE);
  assert.equal(c.disposed, 2);
  const one = await forward(exec, model, sliceBatch(x, 0, 1));
  assert.deepEqual(one.data, first.data.slice(0, one.data.length));
  assert.equal(c.compiled, 2 + FORWARD_CACHE_SIZE);
  await releaseForward(exec, model);
  assert.equal(c.disposed, 2 + FORWARD_CACHE_SIZE);
  await forward(exec, model, x);
  assert.equal(c.compiled, 3 + FORWARD_CACHE_SIZE);
  await releaseForward(exec, model);
});
