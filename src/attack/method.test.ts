import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadNpy } from "../data/node/npy-file.js";
import { sliceBatch } from "../ir/batch.js";
import type { Tensor } from "../ir/tensor.js";
import { Model } from "../model/model.js";
import { nodeExecutor } from "../runtime/node.js";
import { countingExecutor } from "../testing/counting.js";
import { Session } from "../runtime/session.js";
import { runAttack } from "./method.js";

test("a Session: batches reuse compiled PGD programs with their own labels and give the uncached results", async () => {
  const path = "test/fixtures/fmnist_small/model.onnx";
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = (await loadNpy("test/fixtures/fmnist_small/x.npy")) as Tensor<"float32">;
  const labels = (await loadNpy("test/fixtures/fmnist_small/labels.npy")) as Tensor<"int64">;
  const req = { method: "pgd" as const, threat: { kind: "l2" as const, eps: 1 }, steps: 3, keep: "best" as const };
  const { exec, counts: c } = countingExecutor();
  const session = new Session(exec);
  // three batches of 4 (one compile: programs for step and evaluation), then a batch of 2 (a second compile)
  const cuts = [
    [0, 4],
    [4, 8],
    [8, 12],
    [12, 14],
  ] as const;
  for (const [lo, hi] of cuts) {
    const xb = sliceBatch(x, lo, hi),
      yb = sliceBatch(labels, lo, hi);
    const cached = await runAttack(session, model, xb, { ...req, labels: yb });
    const fresh = await runAttack(nodeExecutor, model, xb, { ...req, labels: yb });
    assert.deepEqual(cached.loss, fresh.loss);
    assert.deepEqual(cached.x.data, fresh.x.data);
  }
  assert.equal(c.compiled, 2 * 2);
  assert.equal(c.disposed, 0);
  assert.equal(session.size(model), 2);
  await assert.rejects(
    runAttack(session, model, sliceBatch(x, 0, 4), { ...req, labels: sliceBatch(labels, 0, 3) }),
    /labels \[3\] do not match a batch of 4/,
  );
  // targeted attacks and APGD are cached too, under their own keys
  await runAttack(session, model, sliceBatch(x, 0, 4), { ...req, method: "apgd-ce", labels: sliceBatch(labels, 0, 4) });
  await runAttack(session, model, sliceBatch(x, 0, 4), { ...req, method: "apgd-ce", labels: sliceBatch(labels, 4, 8) });
  assert.equal(c.compiled, 2 * 3);
  await session.dispose();
  assert.equal(c.disposed, 6);
  assert.throws(() => session.compile(model.graph(1)), /used after dispose/);
});

test("random starts are the same at any batch size: noise comes from (seed, restart, example index)", async () => {
  const path = "test/fixtures/fmnist_small/model.onnx";
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = sliceBatch((await loadNpy("test/fixtures/fmnist_small/x.npy")) as Tensor<"float32">, 0, 7);
  const labels = sliceBatch((await loadNpy("test/fixtures/fmnist_small/labels.npy")) as Tensor<"int64">, 0, 7);
  const session = new Session(nodeExecutor);
  for (const method of ["pgd", "apgd-ce"] as const) {
    const req = { method, threat: { kind: "linf" as const, eps: 0.1 }, steps: 2, randomStart: true, restarts: 2, seed: 5 };
    const whole = await runAttack(session, model, x, { ...req, labels });
    const parts: number[] = [];
    for (const [lo, hi] of [
      [0, 3],
      [3, 4],
      [4, 7],
    ] as const) {
      const r = await runAttack(session, model, sliceBatch(x, lo, hi), { ...req, labels: sliceBatch(labels, lo, hi), exampleOffset: lo });
      parts.push(...r.x.data);
    }
    const diff = Math.max(...parts.map((v, i) => Math.abs(v - whole.x.data[i]!)));
    assert.ok(diff < 1e-5, `${method}: batch sizes 7 vs 3/1/3 differ by ${diff}`);
    // a different seed gives other starts
    const other = await runAttack(session, model, x, { ...req, labels, seed: 6 });
    assert.ok(
      other.x.data.some((v, i) => Math.abs(v - whole.x.data[i]!) > 1e-3),
      method,
    );
  }
  await session.dispose();
});
