import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tensor } from "../../ir/tensor.js";
import { loadDataSpec } from "../../cli/data-spec.js";
import { loadDataset } from "./load.js";
import { saveNpy } from "./npy-file.js";

test("npy specs: uint8 or float images, integer labels, classes 0..max, same data for both splits", async () => {
  const dir = await mkdtemp(join(tmpdir(), "robustlens-load-"));
  try {
    const x = join(dir, "x.npy"),
      xf = join(dir, "xf.npy"),
      y = join(dir, "y.npy");
    await saveNpy(
      x,
      tensor(
        "uint8",
        [3, 1, 2, 2],
        Uint8Array.from({ length: 12 }, (_, i) => i * 20),
      ),
    );
    await saveNpy(
      xf,
      tensor(
        "float64",
        [3, 1, 2, 2],
        Array.from({ length: 12 }, (_, i) => i / 12),
      ),
    );
    await saveNpy(y, tensor("int64", [3], [2, 0, 4]));
    const ds = await loadDataset(`npy:${x},${y}`, "train");
    assert.deepEqual(ds.classes, ["0", "1", "2", "3", "4"]);
    assert.deepEqual([...ds.labels], [2, 0, 4]);
    assert.equal(ds.hflip, false);
    assert.ok(ds.images instanceof Uint8Array);
    const f = await loadDataset(`npy:${xf},${y}?flip=yes&limit=2`, "test");
    assert.ok(f.images instanceof Float32Array);
    assert.equal(f.size, 2);
    assert.equal(f.hflip, true);
    assert.ok(Math.abs(f.images[5]! - 5 / 12) < 1e-7);
    await assert.rejects(loadDataset(`npy:${x},${xf}`, "test"), /xf\.npy: labels must be whole numbers/);
    await assert.rejects(loadDataset(`npy:${y},${y}`, "test"), /y\.npy: images must be NCHW \(4-D\), got shape \[3\]/);
    // The CLI's loader: npy as before (tensors as given), other specs via loadDataset, test split by default.
    const a = await loadDataSpec(`npy:${x},${y}`);
    assert.deepEqual(a.images.shape, [3, 1, 2, 2]);
    assert.equal(a.images.data[1], Math.fround(20 / 255));
    assert.deepEqual([...a.labels.data], [2n, 0n, 4n]);
    const b = await loadDataSpec(`npy:${x},${y}?limit=1`);
    assert.deepEqual(b.images.shape, [1, 1, 2, 2]);
    assert.equal(b.images.data[1], a.images.data[1]);
    await assert.rejects(loadDataSpec("npy:only-one.npy"), /--data "npy:only-one\.npy": npy needs two files/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
