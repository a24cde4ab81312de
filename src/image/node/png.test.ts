import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { RawImage } from "../grid.js";
import { encodePng, readImageFile, writePng } from "./png.js";
import { withTempDir } from "../../testing/tmp.js";

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("png", fn);

const ramp = (width: number, height: number, channels: 1 | 3): RawImage => ({
  width,
  height,
  channels,
  data: Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37 + 11) % 256),
});

test("encodePng: gray and RGB round-trip through sharp's decoder pixel for pixel", async () => {
  for (const channels of [1, 3] as const) {
    const img = ramp(5, 3, channels);
    const png = await encodePng(img);
    assert.deepEqual([...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(""), "PNG");
    // IHDR: 8-bit, colour type 0 (gray) or 2 (RGB).
    assert.deepEqual([png[24], png[25]], [8, channels === 1 ? 0 : 2]);
    assert.equal((await sharp(png).metadata()).channels, channels);
    const decoded = sharp(png);
    const { data, info } = await (channels === 1 ? decoded.toColourspace("b-w") : decoded).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [5, 3, channels]);
    assert.deepEqual([...data], [...img.data]);
  }
});

test("encodePng: bad images fail in one line", async () => {
  await assert.rejects(
    encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }),
    /encodePng: 11 bytes are not a 2×2×3 image/,
  );
  await assert.rejects(encodePng({ width: 0, height: 2, channels: 1, data: new Uint8Array(0) }), /at least 1×1, got 0×2/);
});

test("writePng: creates the parent directory, writes atomically, leaves no temp file", () =>
  withDir(async (dir) => {
    const path = join(dir, "a", "b", "grid.png");
    const img = ramp(4, 4, 3);
    await writePng(path, img);
    await writePng(path, ramp(4, 4, 1));
    assert.deepEqual(await readdir(join(dir, "a", "b")), ["grid.png"]);
    assert.equal((await sharp(path).metadata()).channels, 1, "second write replaced the first");
  }));

test("readImageFile: CHW floats, cover-resize with centre crop, gray via 601, alpha flattened on black", () =>
  withDir(async (dir) => {
    // 4 wide × 2 high: columns red, green, blue, white; cover-resizing to 2×2 crops the centre two columns.
    const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
    const path = join(dir, "cols.png");
    await writeFile(path, await encodePng({ width: 4, height: 2, channels: 3, data: rgb }));
    const full = await readImageFile(path, { channels: 3, height: 2, width: 4 });
    assert.deepEqual(
      [...full.subarray(0, 8)].map((v) => v * 255),
      [255, 0, 0, 255, 255, 0, 0, 255],
      "R plane",
    );
    const crop = await readImageFile(path, { channels: 3, height: 2, width: 2 });
    assert.deepEqual(
      [...crop].map((v) => Math.round(v * 255)),
      [0, 0, 0, 0, 255, 0, 255, 0, 0, 255, 0, 255],
    );
    const gray = await readImageFile(path, { channels: 1, height: 2, width: 4 });
    assert.deepEqual(
      [...gray.subarray(0, 4)].map((v) => Math.round(v * 255)),
      [76, 150, 29, 255],
    );
    // Half-transparent white over black is mid gray; a grayscale file becomes three equal planes.
    const rgba = join(dir, "alpha.png");
    await sharp(Buffer.from([255, 255, 255, 128]), { raw: { width: 1, height: 1, channels: 4 } })
      .png()
      .toFile(rgba);
    assert.deepEqual(
      [...(await readImageFile(rgba, { channels: 3, height: 1, width: 1 }))].map((v) => Math.round(v * 255)),
      [128, 128, 128],
    );
    const g = join(dir, "gray.png");
    await writeFile(g, await encodePng({ width: 1, height: 1, channels: 1, data: Uint8Array.from([77]) }));
    assert.deepEqual(
      [...(await readImageFile(g, { channels: 3, height: 1, width: 1 }))],
      [77, 77, 77].map((v) => Math.fround(v / 255)),
    );
    // 16-bit PNGs come out as 8-bit values.
    const deep = join(dir, "deep.png");
    await sharp(Buffer.from(rgb), { raw: { width: 4, height: 2, channels: 3 } })
      .toColourspace("rgb16")
      .png()
      .toFile(deep);
    assert.deepEqual([...(await readImageFile(deep, { channels: 3, height: 2, width: 4 }))], [...full]);
  }));

test("readImageFile: missing and corrupt files name the path", () =>
  withDir(async (dir) => {
    const missing = join(dir, "nope.png");
    await assert.rejects(readImageFile(missing, { channels: 3, height: 2, width: 2 }), { message: `${missing}: no such file` });
    const bad = join(dir, "bad.png");
    const png = await encodePng(ramp(8, 8, 3));
    await writeFile(bad, png.subarray(0, 40));
    await assert.rejects(readImageFile(bad, { channels: 3, height: 2, width: 2 }), (e: Error) => {
      assert.ok(e.message.startsWith(`${bad}: cannot decode image (`) && !e.message.includes("\n"), e.message);
      return true;
    });
    const text = join(dir, "notes.txt");
    await writeFile(text, "hello");
    await assert.rejects(readImageFile(text, { channels: 1, height: 2, width: 2 }), /notes\.txt: cannot decode image/);
  }));
