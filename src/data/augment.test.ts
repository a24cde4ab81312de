import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../util/rng.js";
import { augmentImage, flipImage, shiftImage } from "./augment.js";

const [C, H, W] = [2, 5, 7];
// Pixel values encode their own position, so a moved pixel tells where it came from; none are zero.
const img = () => Float32Array.from({ length: C * H * W }, (_, i) => 1 + i);
const at = (a: Float32Array, c: number, y: number, x: number) => a[(c * H + y) * W + x]!;

test("a padded crop keeps the shape and is the image shifted, zeros where it was padded", () => {
  const src = img();
  for (const [dy, dx] of [
    [0, 0],
    [2, -1],
    [-3, 4],
    [1, 6],
  ] as const) {
    const dst = new Float32Array(src.length).fill(NaN);
    shiftImage(src, dst, C, H, W, dy, dx);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const sy = y - dy,
            sx = x - dx;
          const inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
          assert.equal(at(dst, c, y, x), inside ? at(src, c, sy, sx) : 0, `shift (${dy},${dx}) at ${c},${y},${x}`);
        }
  }
});

test("flipping reverses rows and twice is the identity", () => {
  const a = img();
  flipImage(a, C, H, W);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(at(a, c, y, x), at(img(), c, y, W - 1 - x));
  flipImage(a, C, H, W);
  assert.deepEqual(a, img());
});

test("random augmentation is one of the padded shifts, maybe flipped; flips come half the time; same rng → same image", () => {
  const pad = 2;
  const candidates: { dy: number; dx: number; flip: boolean; img: Float32Array }[] = [];
  for (let dy = -pad; dy <= pad; dy++)
    for (let dx = -pad; dx <= pad; dx++)
      for (const flip of [false, true]) {
        const t = new Float32Array(C * H * W);
        shiftImage(img(), t, C, H, W, dy, dx);
        if (flip) flipImage(t, C, H, W);
        candidates.push({ dy, dx, flip, img: t });
      }
  let flips = 0;
  const shifts = new Set<string>();
  for (let s = 0; s < 400; s++) {
    const a = img();
    augmentImage(a, new Float32Array(a.length), [C, H, W], { crop: pad, flip: true }, new Rng(s));
    const b = img();
    augmentImage(b, new Float32Array(b.length), [C, H, W], { crop: pad, flip: true }, new Rng(s));
    assert.deepEqual(a, b);
    const match = candidates.filter((c) => c.img.every((v, i) => v === a[i]));
    assert.equal(match.length, 1, `draw ${s} is not exactly one padded shift (±${pad}) with or without a flip`);
    if (match[0]!.flip) flips++;
    shifts.add(`${match[0]!.dy},${match[0]!.dx}`);
  }
  assert.equal(shifts.size, (2 * pad + 1) ** 2);
  assert.ok(flips > 150 && flips < 250, `${flips} flips of 400`);
  // Without crop or flip the image is untouched.
  const a = img();
  augmentImage(a, new Float32Array(a.length), [C, H, W], {}, new Rng(1));
  assert.deepEqual(a, img());
});
