import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { loadDataset } from "./load.js";
import { withTempDir } from "../../testing/tmp.js";

/** A solid w×h PNG (or JPEG) of one colour. */
async function solid(path: string, rgb: [number, number, number], w = 10, h = 6, format: "png" | "jpeg" = "png"): Promise<void> {
  const img = sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  await writeFile(path, await (format === "png" ? img.png() : img.jpeg({ quality: 100 })).toBuffer());
}

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("folder", fn);

test("folder: two classes × two PNGs, sorted classes, resized, CHW, RGB or gray", () =>
  withDir(async (dir) => {
    await mkdir(join(dir, "red"));
    await mkdir(join(dir, "blue"));
    await solid(join(dir, "red", "a.png"), [255, 0, 0]);
    await solid(join(dir, "red", "b.PNG"), [200, 0, 0], 5, 9);
    await solid(join(dir, "blue", "a.png"), [0, 0, 255]);
    await solid(join(dir, "blue", "b.jpg"), [0, 0, 250], 8, 8, "jpeg");
    await writeFile(join(dir, "red", "notes.txt"), "not an image");
    const ds = await loadDataset(`folder:${dir}?size=4`, "train");
    assert.deepEqual(ds.classes, ["blue", "red"]);
    assert.deepEqual(ds.shape, [3, 4, 4]);
    assert.equal(ds.size, 4);
    assert.deepEqual([...ds.labels], [0, 0, 1, 1]);
    assert.equal(ds.hflip, true);
    // Image 2 (red/a.png): R plane all 255, G and B planes 0.
    const img = ds.images.subarray(2 * 48, 3 * 48);
    assert.ok(img.subarray(0, 16).every((v) => v === 255) && img.subarray(16).every((v) => v === 0));
    assert.ok(Math.abs(ds.norm.mean[2]! - (255 + 250) / 4 / 255) < 0.01);
    const gray = await loadDataset(`folder:${dir}?size=3&channels=1&flip=no`, "test");
    assert.deepEqual(gray.shape, [1, 3, 3]);
    assert.equal(gray.hflip, false);
    assert.ok(
      gray.images.subarray(18, 27).every((v) => v === 76),
      `${[...gray.images.subarray(18, 27)]}`,
    );
  }));

test("folder: train/test subfolders share class indices; holdout splits a flat folder disjointly", () =>
  withDir(async (dir) => {
    for (const [split, cls, n] of [
      ["train", "cat", 2],
      ["train", "dog", 1],
      ["test", "dog", 1],
    ] as const) {
      await mkdir(join(dir, split, cls), { recursive: true });
      for (let i = 0; i < n; i++) await solid(join(dir, split, cls, `${i}.png`), [i * 50, 10, 20]);
    }
    const te = await loadDataset(`folder:${dir}`, "test");
    assert.deepEqual(te.classes, ["cat", "dog"]);
    assert.deepEqual([...te.labels], [1]);
    await assert.rejects(loadDataset(`folder:${dir}?holdout=0.5`, "test"), /already has train\/ and test\/; holdout does not apply/);
    const flat = join(dir, "train");
    const tr = await loadDataset(`folder:${flat}?holdout=0.34`, "train"),
      ho = await loadDataset(`folder:${flat}?holdout=0.34`, "test");
    assert.equal(tr.size + ho.size, 3);
    assert.equal(ho.size, 1);
    assert.deepEqual(tr.norm, ho.norm);
  }));

test("folder errors: corrupt image, no classes, no images — one line with the path", () =>
  withDir(async (dir) => {
    await assert.rejects(loadDataset(`folder:${dir}`, "train"), /^Error: folder: .* has no class subfolders/);
    await mkdir(join(dir, "x"));
    await assert.rejects(loadDataset(`folder:${dir}`, "train"), /^Error: folder: no PNG or JPEG images under/);
    const good = await sharp({ create: { width: 4, height: 4, channels: 3, background: "#808080" } })
      .png()
      .toBuffer();
    await writeFile(join(dir, "x", "broken.png"), good.subarray(0, 30));
    await assert.rejects(loadDataset(`folder:${dir}`, "train"), (e: Error) => {
      assert.match(e.message, /broken\.png: cannot decode image \(/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
    await assert.rejects(loadDataset(`folder:${dir}/nope`, "train"), /^Error: folder: no directory/);
  }));
