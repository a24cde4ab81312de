import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { tensor } from "../../ir/tensor.js";
import { loadDataset } from "../../data/node/load.js";
import { saveNpy } from "../../data/node/npy-file.js";
import { loadImages } from "./load-images.js";
import { withTempDir } from "../../testing/tmp.js";

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("images", fn);

/** A solid w×h image of one colour, PNG or JPEG by the file's extension. */
async function solid(path: string, rgb: [number, number, number], w = 6, h = 6): Promise<void> {
  const img = sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  await writeFile(path, await (path.endsWith(".png") ? img.png() : img.jpeg({ quality: 100 })).toBuffer());
}

const gray28 = { channels: 1, height: 28, width: 28 } as const;

test("loadImages: mnist:0-2 are the first three MNIST test digits, with labels, captions and pixels", async () => {
  const ds = await loadDataset("mnist", "test");
  const set = await loadImages("mnist:0-2", gray28);
  assert.deepEqual(set.x.shape, [3, 1, 28, 28]);
  assert.deepEqual([...set.labels!], [...ds.labels.subarray(0, 3)]);
  assert.deepEqual([...set.labels!], [7, 2, 1]);
  assert.deepEqual(set.names, ["mnist#0 7", "mnist#1 2", "mnist#2 1"]);
  assert.deepEqual(set.classes, ds.classes);
  for (let k = 0; k < 3 * 784; k++) assert.equal(set.x.data[k], Math.fround(ds.images[k]! / 255));
  // Indices and ranges keep their order; the train split and a 3-channel 32×32 model work too.
  const picked = await loadImages("mnist:9,3,5-6", { channels: 3, height: 32, width: 32 });
  assert.deepEqual(picked.x.shape, [4, 3, 32, 32]);
  assert.deepEqual(
    [...picked.labels!],
    [9, 3, 5, 6].map((r) => ds.labels[r]!),
  );
  assert.deepEqual(
    picked.names.map((n) => n.split(" ")[0]),
    ["mnist#9", "mnist#3", "mnist#5", "mnist#6"],
  );
  const plane = 32 * 32;
  assert.deepEqual(picked.x.data.subarray(0, plane), picked.x.data.subarray(2 * plane, 3 * plane), "gray replicated to RGB");
  const train = await loadImages("mnist?limit=10:4", gray28, { split: "train" });
  assert.equal(train.names[0], "mnist#4 9");
});

test("loadImages: a whole (limited) dataset, and the limit option caps the count", async () => {
  assert.equal((await loadImages("mnist?limit=5", gray28)).names.length, 5);
  const capped = await loadImages("mnist:0-9", gray28, { limit: 4 });
  assert.deepEqual([...capped.labels!], [7, 2, 1, 0]);
});

test("loadImages: X.npy[:INDICES] from uint8 or float files, resized to the model", () =>
  withDir(async (dir) => {
    const u8 = join(dir, "x.npy");
    await saveNpy(
      u8,
      tensor(
        "uint8",
        [4, 1, 2, 2],
        Uint8Array.from({ length: 16 }, (_, i) => i * 10),
      ),
    );
    const set = await loadImages(`${u8}:1,3`, { channels: 1, height: 2, width: 2 });
    assert.deepEqual(set.names, ["x.npy#1", "x.npy#3"]);
    assert.equal(set.labels, undefined);
    assert.deepEqual(
      [...set.x.data],
      [40, 50, 60, 70, 120, 130, 140, 150].map((v) => Math.fround(v / 255)),
    );
    const f64 = join(dir, "f.npy");
    await saveNpy(f64, tensor("float64", [1, 3, 1, 2], [1, 1, 0, 0, 0, 0]));
    const big = await loadImages(f64, { channels: 1, height: 2, width: 4 });
    assert.deepEqual(big.x.shape, [1, 1, 2, 4]);
    assert.ok([...big.x.data].every((v) => Math.abs(v - 0.299) < 1e-6));
    const bad = join(dir, "i.npy");
    await saveNpy(bad, tensor("int32", [1, 1, 1, 1], [1]));
    await assert.rejects(loadImages(bad, gray28), /i\.npy: images must be uint8, float32 or float64, got int32/);
  }));

test("loadImages: files and folders (sorted, hidden and non-image files skipped), with indices", () =>
  withDir(async (dir) => {
    const pics = join(dir, "pics");
    await mkdir(join(pics, "sub"), { recursive: true });
    await solid(join(pics, "b.png"), [255, 0, 0]);
    await solid(join(pics, "a.jpg"), [0, 0, 255], 8, 4);
    await solid(join(pics, ".hidden.png"), [0, 255, 0]);
    await solid(join(pics, "sub", "c.png"), [0, 255, 0]);
    await writeFile(join(pics, "notes.txt"), "not an image");
    const one = join(dir, "one.png");
    await solid(one, [255, 255, 255], 3, 5);
    const to = { channels: 3, height: 4, width: 4 } as const;
    const set = await loadImages(`${one},${pics}`, to);
    assert.deepEqual(set.names, ["one.png", "a.jpg", "b.png"]);
    assert.deepEqual(set.x.shape, [3, 3, 4, 4]);
    assert.equal(set.labels, undefined);
    const at = (i: number, c: number) => Math.round(set.x.data[(i * 3 + c) * 16 + 5]! * 255);
    assert.deepEqual([at(0, 0), at(0, 1), at(0, 2)], [255, 255, 255]);
    assert.ok(at(1, 2) > 250 && at(1, 0) < 5, "a.jpg is blue");
    assert.deepEqual([at(2, 0), at(2, 1), at(2, 2)], [255, 0, 0]);
    // folder:DIR is a dataset (class subfolders), decoded straight to the model's square size.
    await mkdir(join(dir, "classes", "red"), { recursive: true });
    await solid(join(dir, "classes", "red", "r.png"), [255, 0, 0], 9, 7);
    const folder = await loadImages(`folder:${join(dir, "classes")}:0`, to);
    assert.deepEqual([folder.names, [...folder.labels!], folder.x.shape], [["folder#0 red"], [0], [1, 3, 4, 4]]);
    assert.ok(folder.x.data.subarray(0, 16).every((v) => v === 1) && folder.x.data.subarray(16).every((v) => v === 0));
    const gray = await loadImages(`${pics}:1`, { channels: 1, height: 2, width: 2 });
    assert.deepEqual(gray.names, ["b.png"]);
    assert.deepEqual(
      [...gray.x.data].map((v) => Math.round(v * 255)),
      [76, 76, 76, 76],
    );
  }));

test("loadImages: errors name the argument, the file or the dataset size", () =>
  withDir(async (dir) => {
    const missing = join(dir, "nope.png");
    await assert.rejects(loadImages(missing, gray28), { message: `${missing}: no such file` });
    await assert.rejects(loadImages(join(dir, "nope.npy"), gray28), /cannot read .*nope\.npy: no such file/);
    await assert.rejects(loadImages("mnist:9998-10000", gray28), {
      message: 'IMAGES "mnist:9998-10000": index 10000 is out of range: mnist (test) has 10000 images (0..9999)',
    });
    await assert.rejects(loadImages("mnist?limit=5:5", gray28), /index 5 is out of range: mnist\?limit=5 \(test\) has 5 images/);
    await assert.rejects(loadImages("mnist:3-", gray28), {
      message: 'IMAGES "mnist:3-": bad indices "3-" (expected a comma list of i or i-j, e.g. 0-9 or 3,5,7-9)',
    });
    await assert.rejects(loadImages("mnist:1,,2", gray28), /bad indices "1,,2"/);
    await assert.rejects(loadImages("mnist:7-2", gray28), /bad index range "7-2" \(the end is before the start\)/);
    await assert.rejects(loadImages("mnist:0-100000", gray28), /select more than 100000 images/);
    await assert.rejects(loadImages("mnist:0", gray28, { limit: 0 }), /limit must be a positive integer, got 0/);
    const corrupt = join(dir, "bad.png");
    await writeFile(corrupt, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    await assert.rejects(loadImages(corrupt, gray28), (e: Error) => {
      assert.ok(e.message.startsWith(`${corrupt}: cannot decode image (`) && !e.message.includes("\n"), e.message);
      return true;
    });
    const empty = join(dir, "empty");
    await mkdir(empty);
    await writeFile(join(empty, "readme.txt"), "x");
    await assert.rejects(loadImages(empty, gray28), { message: `${empty}: no PNG or JPEG images in this folder` });
    await assert.rejects(loadImages("", gray28), { message: 'IMAGES "": no images' });
    const none = join(dir, "none.npy");
    await saveNpy(none, tensor("uint8", [0, 1, 2, 2]));
    await assert.rejects(loadImages(none, gray28), { message: `IMAGES "${none}": no images` });
  }));
