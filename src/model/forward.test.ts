import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadNpy } from "../data/node/npy-file.js";
import { sliceBatch } from "../ir/batch.js";
import { Session } from "../runtime/session.js";
import { countingExecutor } from "../testing/counting.js";
import { forward } from "./forward.js";
import { Model } from "./model.js";

test("forward() on a Session compiles once per value and batch size (a smaller batch runs padded on a larger one); release() and dispose() free the programs", async () => {
  const path = "test/fixtures/fmnist_small/model.onnx";
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = await loadNpy("test/fixtures/fmnist_small/x.npy");
  const { exec, counts: c } = countingExecutor();
  const s = new Session(exec);
  const first = await forward(s, model, x);
  const again = await forward(s, model, x);
  assert.equal(c.compiled, 1);
  assert.deepEqual(again.data, first.data);
  await forward(s, model, x, model.graph(1).outputs.at(-1)!.name);
  assert.equal(c.compiled, 2);
  // the smaller batch reuses the full batch's program (its rows padded with copies of its last example, then sliced off)
  const three = await forward(s, model, sliceBatch(x, 0, 3));
  assert.deepEqual(three.shape, [3, first.shape[1]]);
  assert.deepEqual(three.data, first.data.slice(0, three.data.length));
  assert.equal(c.compiled, 2);
  await s.release(model);
  assert.equal(c.disposed, 2);
  // compiled first, the small batch gets its own program, and the larger one then needs another
  const one = await forward(s, model, sliceBatch(x, 0, 1));
  await forward(s, model, x);
  assert.equal(c.compiled, 4);
  assert.deepEqual((await forward(s, model, sliceBatch(x, 0, 1))).data, one.data); // its own program again, not the padded one
  assert.equal(c.compiled, 4);
  const [o, f] = [one.data as Float32Array, first.data as Float32Array];
  assert.ok(Math.max(...o.map((v, i) => Math.abs(v - f[i]!))) < 1e-5);
  await s.dispose();
  assert.equal(c.disposed, 4);
});

test("a Model's graphs for different batch sizes share one copy of the weights", () => {
  const path = "test/fixtures/fmnist_small/model.onnx";
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const [a, b] = [model.graph(2), model.graph(5)];
  assert.ok(a.initializers.length > 0);
  for (const v of a.initializers) {
    const w = b.initializers.find((u) => u.name === v.name);
    assert.ok(w && w.data === v.data, `${v.name} is shared`);
  }
});

test("forward() on a bare executor compiles for the call and disposes after it", async () => {
  const path = "test/fixtures/fmnist_small/model.onnx";
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = await loadNpy("test/fixtures/fmnist_small/x.npy");
  const { exec, counts: c } = countingExecutor();
  await forward(exec, model, x);
  await forward(exec, model, x);
  assert.deepEqual([c.compiled, c.disposed], [2, 2]);
});

test("a failed compile is not cached: the next call reports it again", async () => {
  let calls = 0;
  const s = new Session({
    compile: async () => {
      calls++;
      throw new Error("boom");
    },
  });
  const owner = {};
  await assert.rejects(
    s.cached(owner, "k", (e) => e.compile(null as never)),
    /boom/,
  );
  await assert.rejects(
    s.cached(owner, "k", (e) => e.compile(null as never)),
    /boom/,
  );
  assert.equal(calls, 2);
  assert.equal(s.size(), 0);
});
