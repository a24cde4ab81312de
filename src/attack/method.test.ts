import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadNpy } from "../data/node/npy-file.js";
import { sliceBatch } from "../ir/batch.js";
import type { Tensor } from "../ir/tensor.js";
import { Model } from "../model/model.js";
import { nodeExecutor } from "../runtime/node.js";
import { countingExecutor } from "../testing/counting.js";
import { AttackCache, runAttack } from "./method.js";

test("AttackCache: batches reuse compiled PGD programs with their own labels and give the uncached results", async () => {
  const path = "test/fixtures/fmnist_small/model.onnx";
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = (await loadNpy("test/fixtures/fmnist_small/x.npy")) as Tensor<"float32">;
  const labels = (await loadNpy("test/fixtures/fmnist_small/labels.npy")) as Tensor<"int64">;
  const req = { method: "pgd" as const, threat: { kind: "l2" as const, eps: 1 }, steps: 3, keep: "best" as const };
  const { exec, counts: c } = countingExecutor();
  const cache = new AttackCache(exec, model);
  // three batches of 4 (one compile: programs for step and evaluation), then a batch of 2 (a second compile)
  const cuts = [[0, 4], [4, 8], [8, 12], [12, 14]] as const;
  for (const [lo, hi] of cuts) {
    const xb = sliceBatch(x, lo, hi), yb = sliceBatch(labels, lo, hi);
    const cached = await runAttack(exec, model, xb, { ...req, labels: yb }, cache);
    const fresh = await runAttack(nodeExecutor, model, xb, { ...req, labels: yb });
    assert.deepEqual(cached.loss, fresh.loss);
    assert.deepEqual(cached.x.data, fresh.x.data);
  }
  assert.equal(c.compiled, 2 * 2);
  assert.equal(c.disposed, 0);
  await assert.rejects(runAttack(exec, model, sliceBatch(x, 0, 4), { ...req, labels: sliceBatch(labels, 0, 3) }, cache), /labels \[3\] do not match a batch of 4/);
  await cache.dispose();
  assert.equal(c.disposed, 4);
});
