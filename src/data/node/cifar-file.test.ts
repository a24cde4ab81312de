import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serializeCifarBatch } from "../cifar.js";
import { loadDataset } from "./load.js";

const images = Uint8Array.from({ length: 3 * 3072 }, (_, i) => (i * 5 + 3) % 256);
const labels = [7, 0, 9];

test("CIFAR-10 binary: three records per batch, train is the five batches in order, meta gives class names", async () => {
  const top = await mkdtemp(join(tmpdir(), "robustlens-cifar-"));
  try {
    const dir = join(top, "cifar-10-batches-bin");
    await mkdir(dir);
    for (let b = 1; b <= 5; b++)
      await writeFile(
        join(dir, `data_batch_${b}.bin`),
        serializeCifarBatch(
          images,
          labels.map((y) => (y + b) % 10),
        ),
      );
    await writeFile(join(dir, "test_batch.bin"), serializeCifarBatch(images, labels));
    const te = await loadDataset(`cifar10:${dir}`, "test");
    assert.equal(te.size, 3);
    assert.deepEqual(te.shape, [3, 32, 32]);
    assert.deepEqual(te.images, images);
    assert.deepEqual([...te.labels], labels);
    assert.equal(te.classes[0], "airplane");
    assert.deepEqual(te.norm.mean, [0.4914, 0.4822, 0.4465]);
    assert.equal(te.hflip, true);
    // The parent of cifar-10-batches-bin works too (where the archive was extracted).
    const tr = await loadDataset(`cifar10:${top}`, "train");
    assert.equal(tr.size, 15);
    assert.deepEqual([...tr.labels.subarray(0, 6)], [8, 1, 0, 9, 2, 1]);
    await writeFile(join(dir, "batches.meta.txt"), "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n");
    assert.equal((await loadDataset(`cifar10:${dir}`, "test")).classes[9], "j");

    const bytes = serializeCifarBatch(images, labels);
    await writeFile(join(dir, "test_batch.bin"), bytes.subarray(0, 5000));
    await assert.rejects(
      loadDataset(`cifar10:${dir}`, "test"),
      /^Error: .*test_batch\.bin: truncated or corrupt: 5000 bytes is 1 whole 3073-byte records and 1927 more bytes$/,
    );
    await rm(join(dir, "data_batch_4.bin"));
    await assert.rejects(
      loadDataset(`cifar10:${dir}`, "train"),
      /^Error: cifar10: .*cifar-10-batches-bin has no data_batch_4\.bin; .*robustlens data fetch cifar10/,
    );
  } finally {
    await rm(top, { recursive: true, force: true });
  }
});
