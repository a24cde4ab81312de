// Per-example augmentation on CHW float images: random crop with zero padding and horizontal flip.
import type { Rng } from "../util/rng.js";

export interface Augment {
  /** Zero padding on each side before a random crop back to the original size (CIFAR recipe: 4). */
  crop?: number;
  /** Flip left-right with probability 1/2; defaults to the dataset's `hflip`. */
  flip?: boolean;
}

/** Writes `src` moved by (dy, dx) into `dst`, zero where the shift uncovers pixels — a padded crop at offset (pad+dy, pad+dx). */
export function shiftImage(src: Float32Array, dst: Float32Array, c: number, h: number, w: number, dy: number, dx: number): void {
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      const row = base + y * w;
      if (sy < 0 || sy >= h) {
        dst.fill(0, row, row + w);
        continue;
      }
      const srow = base + sy * w;
      for (let x = 0; x < w; x++) {
        const sx = x - dx;
        dst[row + x] = sx >= 0 && sx < w ? src[srow + sx]! : 0;
      }
    }
  }
}

/** Reverses every row in place (flipping twice gives the image back). */
export function flipImage(img: Float32Array, c: number, h: number, w: number): void {
  for (let r = 0; r < c * h; r++) {
    for (let a = r * w, b = a + w - 1; a < b; a++, b--) {
      const t = img[a]!;
      img[a] = img[b]!;
      img[b] = t;
    }
  }
}

/**
 * Augments one image in place; `scratch` has the image's size. Draws are in a fixed order (crop dy, crop dx, flip)
 * so a given rng state always gives the same result.
 */
export function augmentImage(
  img: Float32Array,
  scratch: Float32Array,
  shape: readonly [number, number, number],
  aug: Augment,
  rng: Rng,
): void {
  const [c, h, w] = shape;
  const pad = aug.crop ?? 0;
  if (pad > 0) {
    const dy = rng.int(2 * pad + 1) - pad;
    const dx = rng.int(2 * pad + 1) - pad;
    if (dy !== 0 || dx !== 0) {
      shiftImage(img, scratch, c, h, w, dy, dx);
      img.set(scratch);
    }
  }
  if (aug.flip && rng.next() < 0.5) flipImage(img, c, h, w);
}
