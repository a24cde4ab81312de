import { test } from "node:test";
import assert from "node:assert/strict";
import { type Dataset, batchCount, batches, channelStats, holdout, makeDataset, mixSeed, subset, take, toTensors } from "./dataset.js";

// Example i is filled with the value i (mod 256) and labelled i % 3, so batches show which rows they hold.
function toy(n = 10, shape: [number, number, number] = [1, 4, 4], hflip = true): Dataset {
  const per = shape[0] * shape[1] * shape[2];
  const images = Uint8Array.from({ length: n * per }, (_, k) => Math.floor(k / per) % 256);
  return makeDataset({
    name: "toy",
    classes: ["a", "b", "c"],
    shape,
    size: n,
    images,
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    norm: { mean: Array(shape[0]).fill(0.5), std: Array(shape[0]).fill(0.25) },
    hflip,
  });
}
const all = (ds: Dataset, o: Parameters<typeof batches>[1]) => [...batches(ds, o)];

test("batches cover the dataset once, pixels scaled to [0,1], labels as int64", () => {
  const ds = toy(10);
  const bs = all(ds, { batchSize: 4 });
  assert.deepEqual(
    bs.map((b) => b.x.shape),
    [
      [4, 1, 4, 4],
      [4, 1, 4, 4],
      [2, 1, 4, 4],
    ],
  );
  assert.deepEqual(
    bs.flatMap((b) => [...b.indices]),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.equal(bs[1]!.x.data[16], Math.fround(5 / 255));
  assert.deepEqual([...bs[2]!.y.data], [2n, 0n]);
  assert.equal(all(ds, { batchSize: 4, dropLast: true }).length, 2);
  assert.equal(batchCount(10, { batchSize: 4 }), 3);
  assert.equal(batchCount(10, { batchSize: 4, dropLast: true }), 2);
});

test("shuffling is fixed by (seed, epoch): same → same order, another epoch or seed → another order", () => {
  const ds = toy(50);
  const order = (seed: number, epoch: number) => all(ds, { batchSize: 8, shuffle: true, seed, epoch }).flatMap((b) => [...b.indices]);
  const a = order(3, 0);
  assert.deepEqual(a, order(3, 0));
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.notDeepEqual(a, order(3, 1));
  assert.notDeepEqual(a, order(4, 0));
  assert.notDeepEqual(
    a,
    Array.from({ length: 50 }, (_, i) => i),
  );
  // Labels travel with their images.
  for (const b of all(ds, { batchSize: 8, shuffle: true, seed: 3 })) b.indices.forEach((r, i) => assert.equal(b.y.data[i], BigInt(r % 3)));
});

test("resuming at batch k gives exactly the batches k.. of the full epoch, augmentation included", () => {
  // Varied pixels, so crops and flips both show.
  const ds = { ...toy(30, [3, 8, 8]), images: Uint8Array.from({ length: 30 * 192 }, (_, k) => (k * 31) % 256) };
  const o = { batchSize: 7, shuffle: true, seed: 11, epoch: 2, augment: { crop: 2 } };
  const full = all(ds, o);
  const resumed = all(ds, { ...o, from: 2 });
  assert.equal(resumed.length, full.length - 2);
  resumed.forEach((b, i) => {
    assert.equal(b.index, i + 2);
    assert.deepEqual(b.indices, full[i + 2]!.indices);
    assert.deepEqual(b.x.data, full[i + 2]!.x.data);
  });
  // And augmentation does not depend on the batch size: example at position p gets the same crop.
  const one = all(ds, { ...o, batchSize: 30 })[0]!;
  assert.deepEqual(one.x.data.subarray(0, 7 * 192), full[0]!.x.data);
});

test("augmentation changes images but never shape or labels; no flips unless the dataset allows them", () => {
  const ds = toy(20, [1, 6, 6]);
  const plain = all(ds, { batchSize: 20 })[0]!;
  const aug = all(ds, { batchSize: 20, seed: 1, augment: { crop: 2 } })[0]!;
  assert.deepEqual(aug.x.shape, plain.x.shape);
  assert.deepEqual(aug.y.data, plain.y.data);
  assert.notDeepEqual(aug.x.data, plain.x.data);
  for (const v of aug.x.data) assert.ok(v === 0 || plain.x.data.includes(v));
  // Flip-safe dataset: `augment: {}` means the dataset's default, which flips.
  const digits = toy(4, [1, 2, 3], false);
  const asym = { ...digits, images: Uint8Array.from({ length: 24 }, (_, k) => k % 6) };
  const base = all(asym, { batchSize: 4 })[0]!.x.data;
  for (let s = 0; s < 30; s++) assert.deepEqual(all(asym, { batchSize: 4, seed: s, augment: {} })[0]!.x.data, base);
  assert.throws(() => all(asym, { batchSize: 4, augment: { flip: true } }), /toy: horizontal flips change the class/);
  let flipped = 0;
  for (let s = 0; s < 30; s++)
    if (all({ ...asym, hflip: true }, { batchSize: 4, seed: s, augment: {} })[0]!.x.data.some((v, i) => v !== base[i])) flipped++;
  assert.ok(flipped > 20, `${flipped}`);
  assert.throws(() => all(ds, { batchSize: 0 }), /batchSize must be a positive integer/);
});

test("float images pass through unscaled", () => {
  const ds = makeDataset({
    name: "f",
    classes: ["x"],
    shape: [1, 1, 2],
    size: 2,
    images: Float32Array.from([0.1, 0.2, 0.3, 0.4]),
    labels: new Int32Array(2),
    norm: { mean: [0], std: [1] },
    hflip: false,
  });
  assert.deepEqual(toTensors(ds).images.data, Float32Array.from([0.1, 0.2, 0.3, 0.4]));
});

test("subset, take and holdout: copies, disjoint deterministic splits", () => {
  const ds = toy(40);
  assert.deepEqual([...subset(ds, [5, 1]).labels], [2, 1]);
  assert.equal(take(ds, 3).size, 3);
  assert.equal(take(ds, 100), ds);
  const tr = holdout(ds, 0.25, "train"),
    te = holdout(ds, 0.25, "test");
  assert.equal(te.size, 10);
  assert.equal(tr.size, 30);
  const rowsOf = (d: Dataset) => Array.from({ length: d.size }, (_, i) => d.images[i * 16]!);
  const seen = new Set([...rowsOf(tr), ...rowsOf(te)]);
  assert.equal(seen.size, 40);
  assert.deepEqual(rowsOf(holdout(ds, 0.25, "test")), rowsOf(te));
});

test("channel statistics and seed mixing", () => {
  const s = channelStats(Uint8Array.from([0, 255, 0, 255, 51, 51, 51, 51]), [2, 2, 2]);
  assert.ok(Math.abs(s.mean[0]! - 0.5) < 1e-12 && Math.abs(s.std[0]! - 0.5) < 1e-12);
  assert.ok(Math.abs(s.mean[1]! - 0.2) < 1e-12);
  assert.equal(s.std[1], 1);
  assert.notEqual(mixSeed(1, 0), mixSeed(0, 1));
  assert.notEqual(mixSeed(2 ** 32), mixSeed(0));
});

test("makeDataset rejects inconsistent datasets with the dataset's name", () => {
  const ok = toy(2);
  assert.throws(() => makeDataset({ ...ok, labels: Int32Array.from([0, 7]) }), /^Error: toy: label 7 of example 1 is outside 0\.\.2$/);
  assert.throws(() => makeDataset({ ...ok, size: 3 }), /toy: 32 pixels are not 3 images of \[1,4,4\]/);
  assert.throws(() => makeDataset({ ...ok, norm: { mean: [0, 0], std: [1] } }), /normalization has 2 means/);
});
