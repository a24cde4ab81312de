import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor } from "../ir/tensor.js";
import { type RawImage, gridImage, gridRows, resizeBatch } from "./grid.js";

const px = (img: RawImage, x: number, y: number): number[] => [
  ...img.data.subarray((y * img.width + x) * img.channels, (y * img.width + x + 1) * img.channels),
];

test("gridImage: row-major cells, padding, nearest-neighbour scale, clamping, NaN → 0", () => {
  // Three 1×1×2 gray images: [a, b] per image.
  const x = tensor("float32", [3, 1, 1, 2], [0, 1, 0.5, -3, NaN, 7]);
  const img = gridImage(x, { pad: 1, scale: 2, background: 9 });
  // Default cols = ceil(sqrt(3)) = 2 → 2 rows; cell 4×2 after scaling.
  assert.deepEqual([img.width, img.height, img.channels], [2 * 4 + 3, 2 * 2 + 3, 1]);
  assert.equal(img.data.length, img.width * img.height);
  assert.deepEqual(px(img, 0, 0), [9]);
  // Image 0 at (1,1): 0 twice then 255 twice, on two rows.
  for (const y of [1, 2])
    assert.deepEqual(
      [1, 2, 3, 4].map((x) => px(img, x, y)[0]),
      [0, 0, 255, 255],
    );
  // Image 1 at (6,1): 0.5 → 128, -3 → 0.
  assert.deepEqual(
    [6, 7, 8, 9].map((x) => px(img, x, 1)[0]),
    [128, 128, 0, 0],
  );
  // Image 2 at (1,4): NaN → 0, 7 → 255; the fourth cell stays background.
  assert.deepEqual(
    [1, 2, 3, 4].map((x) => px(img, x, 4)[0]),
    [0, 0, 255, 255],
  );
  assert.deepEqual(
    [6, 7, 8, 9].map((x) => px(img, x, 4)[0]),
    [9, 9, 9, 9],
  );
  assert.equal(px(img, 5, 1)[0], 9, "padding between cells");
});

test("gridImage: RGB cells keep channel order; cols and defaults", () => {
  const x = tensor("float32", [2, 3, 1, 1], [1, 0, 0, 0, 0, 1]);
  const img = gridImage(x, { cols: 1 });
  assert.deepEqual([img.width, img.height, img.channels], [1 + 4, 2 + 6, 3]);
  assert.deepEqual(px(img, 2, 2), [255, 0, 0]);
  assert.deepEqual(px(img, 2, 5), [0, 0, 255]);
  assert.deepEqual(px(img, 0, 0), [255, 255, 255]);
  const wide = gridImage(x, { cols: 3, pad: 0 });
  assert.deepEqual([wide.width, wide.height], [3, 1]);
});

test("gridImage: bad shapes and options fail in one line", () => {
  const x = tensor("float32", [2, 4, 8, 8]);
  assert.throws(() => gridImage(x), { message: "gridImage: images must be [N,C,H,W] with C = 1 or 3, got [2,4,8,8]" });
  assert.throws(() => gridImage(tensor("float32", [3, 8, 8])), /got \[3,8,8\]/);
  assert.throws(() => gridImage(tensor("float32", [0, 1, 2, 2])), /gridImage: no images/);
  const ok = tensor("float32", [1, 1, 2, 2]);
  assert.throws(() => gridImage(ok, { cols: 0 }), /cols must be a positive integer, got 0/);
  assert.throws(() => gridImage(ok, { scale: 1.5 }), /scale must be a positive integer/);
  assert.throws(() => gridImage(ok, { pad: -1 }), /pad must be a non-negative integer/);
  assert.throws(() => gridImage(ok, { background: 256 }), /background must be an integer in 0\.\.255/);
});

test("gridRows: ragged rows, empty rows, gray promoted to RGB", () => {
  const gray = tensor("float32", [2, 1, 1, 1], [1, 0]);
  const empty = tensor("float32", [0, 1, 1, 1]);
  const rgb = tensor("float32", [1, 3, 1, 1], [0, 1, 0]);
  const img = gridRows([gray, empty, rgb], { pad: 1, background: 50 });
  assert.deepEqual([img.width, img.height, img.channels], [2 + 3, 3 + 4, 3]);
  assert.deepEqual(px(img, 1, 1), [255, 255, 255]);
  assert.deepEqual(px(img, 3, 1), [0, 0, 0]);
  assert.deepEqual(px(img, 1, 3), [50, 50, 50], "empty row");
  assert.deepEqual(px(img, 1, 5), [0, 255, 0]);
  assert.deepEqual(px(img, 3, 5), [50, 50, 50], "missing cell");
  const allGray = gridRows([gray], { pad: 0 });
  assert.deepEqual([allGray.width, allGray.height, allGray.channels, ...allGray.data], [2, 1, 1, 255, 0]);
  assert.throws(() => gridRows([]), /gridRows: no rows/);
  assert.throws(() => gridRows([gray, tensor("float32", [1, 1, 2, 1])]), /gridRows: row 1 has images of 2×1, row 0 has 1×1/);
  assert.throws(
    () => gridRows([gray, tensor("float32", [1, 2, 1, 1])]),
    /gridRows: row 1 must be \[N,C,H,W\] with C = 1 or 3, got \[1,2,1,1\]/,
  );
});

/** Bilinear, align_corners=false, written per output pixel straight from the definition. */
function reference(src: ArrayLike<number>, h: number, w: number, oh: number, ow: number): number[] {
  const at = (d: number, inn: number, out: number) => Math.max(0, (d + 0.5) * (inn / out) - 0.5);
  const out: number[] = [];
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const sy = at(y, h, oh),
        sx = at(x, w, ow);
      const y0 = Math.floor(sy),
        x0 = Math.floor(sx);
      const y1 = Math.min(y0 + 1, h - 1),
        x1 = Math.min(x0 + 1, w - 1);
      const fy = sy - y0,
        fx = sx - x0;
      const v = (yy: number, xx: number) => src[yy * w + xx]!;
      out.push((1 - fy) * ((1 - fx) * v(y0, x0) + fx * v(y0, x1)) + fy * ((1 - fx) * v(y1, x0) + fx * v(y1, x1)));
    }
  }
  return out;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `at ${i}: ${a[i]} vs ${b[i]}`);
};

test("resizeBatch: bilinear with align_corners=false (PyTorch's values), up and down", () => {
  // F.interpolate([[0, 1]], size=4, mode="bilinear", align_corners=False) → [0, 0.25, 0.75, 1].
  close(resizeBatch(tensor("float32", [1, 1, 1, 2], [0, 1]), { channels: 1, height: 1, width: 4 }).data, [0, 0.25, 0.75, 1]);
  // Halving averages neighbouring pairs; 3 → 2 samples at 0.25 and 1.75.
  close(resizeBatch(tensor("float32", [1, 1, 1, 4], [0, 1, 2, 3]), { channels: 1, height: 1, width: 2 }).data, [0.5, 2.5]);
  close(resizeBatch(tensor("float32", [1, 1, 3, 1], [0, 1, 2]), { channels: 1, height: 2, width: 1 }).data, [0.25, 1.75]);
  // A batch of two 2-channel 5×7 images to 3×11 matches the per-pixel definition plane by plane.
  const h = 5,
    w = 7,
    oh = 3,
    ow = 11;
  const src = Float32Array.from({ length: 2 * 2 * h * w }, (_, i) => Math.sin(i * 0.7) * 0.5 + 0.5);
  const out = resizeBatch(tensor("float32", [2, 2, h, w], src), { channels: 2, height: oh, width: ow });
  assert.deepEqual(out.shape, [2, 2, oh, ow]);
  for (let p = 0; p < 4; p++)
    close(out.data.subarray(p * oh * ow, (p + 1) * oh * ow), reference(src.subarray(p * h * w, (p + 1) * h * w), h, w, oh, ow));
});

test("resizeBatch: identity returns the input; gray ↔ RGB; bad targets fail", () => {
  const x = tensor("float32", [2, 3, 4, 4]);
  assert.equal(resizeBatch(x, { channels: 3, height: 4, width: 4 }), x);
  const gray = resizeBatch(tensor("float32", [1, 3, 1, 2], [1, 0, 0, 1, 0, 1]), { channels: 1, height: 1, width: 2 });
  close(gray.data, [0.299 + 0, 0.587 + 0.114]);
  const rgb = resizeBatch(tensor("float32", [2, 1, 1, 2], [0, 1, 0.5, 0.25]), { channels: 3, height: 2, width: 2 });
  assert.deepEqual(rgb.shape, [2, 3, 2, 2]);
  for (let k = 0; k < 3; k++) {
    close(rgb.data.subarray(k * 4, k * 4 + 4), [0, 1, 0, 1]);
    close(rgb.data.subarray(12 + k * 4, 12 + k * 4 + 4), [0.5, 0.25, 0.5, 0.25]);
  }
  assert.deepEqual(resizeBatch(tensor("float32", [0, 1, 28, 28]), { channels: 3, height: 32, width: 32 }).shape, [0, 3, 32, 32]);
  assert.throws(
    () => resizeBatch(tensor("float32", [1, 2, 2, 2]), { channels: 3, height: 2, width: 2 }),
    /resizeBatch: cannot convert 2 channels to 3/,
  );
  assert.throws(
    () => resizeBatch(tensor("float32", [2, 2, 2]), { channels: 1, height: 2, width: 2 }),
    /resizeBatch: input must be \[N,C,H,W\], got \[2,2,2\]/,
  );
  assert.throws(() => resizeBatch(x, { channels: 3, height: 0, width: 4 }), /target \[3,0,4\] must be positive integers/);
});
