// Pixel operations of the synthesis tasks (browser-safe): pooling down, nearest up, masks, patch fill, crops.
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";

const dims4 = (x: Tensor, what: string): [number, number, number, number] => {
  if (x.shape.length !== 4) throw new Error(`${what}: expected NCHW images, got ${formatShape(x.shape)}`);
  return x.shape as [number, number, number, number];
};

const checkFactor = (f: number, h: number, w: number, what: string): void => {
  if (!Number.isInteger(f) || f < 1) throw new Error(`${what}: factor must be a positive integer, got ${f}`);
  if (h % f !== 0 || w % f !== 0) throw new Error(`${what}: ${h}×${w} images are not divisible by factor ${f}`);
};

/** Average pooling by f×f non-overlapping windows: [N,C,H,W] → [N,C,H/f,W/f]. */
export function avgPoolDown(x: Tensor<"float32">, f: number): Tensor<"float32"> {
  const [n, c, h, w] = dims4(x, "avgPoolDown");
  checkFactor(f, h, w, "avgPoolDown");
  const oh = h / f,
    ow = w / f,
    out = new Float32Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        let s = 0;
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += x.data[p * h * w + (y * f + dy) * w + xx * f + dx]!;
        out[p * oh * ow + y * ow + xx] = s / (f * f);
      }
    }
  }
  return tensor("float32", [n, c, oh, ow], out) as Tensor<"float32">;
}

/** Nearest-neighbour upsampling by f: [N,C,H,W] → [N,C,H·f,W·f]. */
export function nearestUp(x: Tensor<"float32">, f: number): Tensor<"float32"> {
  const [n, c, h, w] = dims4(x, "nearestUp");
  checkFactor(f, h * f, w * f, "nearestUp");
  const oh = h * f,
    ow = w * f,
    out = new Float32Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) out[p * oh * ow + y * ow + xx] = x.data[p * h * w + Math.floor(y / f) * w + Math.floor(xx / f)]!;
  }
  return tensor("float32", [n, c, oh, ow], out) as Tensor<"float32">;
}

/** A square patch of side `size` at (top, left): mask [1,1,H,W] with 1 inside. */
export function patchMask(height: number, width: number, p: { top: number; left: number; size: number }): Tensor<"float32"> {
  const { top, left, size } = p;
  if (![top, left, size].every(Number.isInteger) || size < 1 || top < 0 || left < 0 || top + size > height || left + size > width) {
    throw new Error(`patch ${size}×${size} at (${top}, ${left}) does not fit ${height}×${width} images`);
  }
  const m = new Float32Array(height * width);
  for (let y = top; y < top + size; y++) m.fill(1, y * width + left, y * width + left + size);
  return tensor("float32", [1, 1, height, width], m) as Tensor<"float32">;
}

/** The centred patch covering `fraction` of the image side (at least one pixel). */
export function centerPatchMask(height: number, width: number, fraction: number): Tensor<"float32"> {
  const size = Math.max(1, Math.round(Math.min(height, width) * fraction));
  return patchMask(height, width, { top: Math.floor((height - size) / 2), left: Math.floor((width - size) / 2), size });
}

/** A mask [1|N,1,H,W] repeated to a batch of n (one mask for all, or one per image). */
export function maskBatch(mask: Tensor<"float32">, n: number, height: number, width: number): Tensor<"float32"> {
  const [m, c, h, w] = dims4(mask, "mask");
  if (c !== 1 || h !== height || w !== width || (m !== 1 && m !== n))
    throw new Error(
      `mask ${formatShape(mask.shape)} does not match ${n} images of ${height}×${width} (want [1,1,${height},${width}] or [${n},1,${height},${width}])`,
    );
  if (!Array.from(mask.data).some((v) => v > 0)) throw new Error(`mask ${formatShape(mask.shape)} is empty: nothing to change`);
  if (m === n) return mask;
  const out = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) out.set(mask.data, i * h * w);
  return tensor("float32", [n, 1, h, w], out) as Tensor<"float32">;
}

/** Corruption for inpainting: pixels under the mask set to the image's own per-channel mean. */
export function fillMasked(x: Tensor<"float32">, mask: Tensor<"float32">): Tensor<"float32"> {
  const [n, c, h, w] = dims4(x, "fillMasked");
  const m = maskBatch(mask, n, h, w),
    plane = h * w,
    out = Float32Array.from(x.data);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const off = (i * c + ch) * plane;
      let s = 0;
      for (let j = 0; j < plane; j++) s += x.data[off + j]!;
      for (let j = 0; j < plane; j++) if (m.data[i * plane + j]! > 0) out[off + j] = s / plane;
    }
  }
  return tensor("float32", x.shape, out) as Tensor<"float32">;
}

/** 1 − mask, per example ([N,1,H,W]). */
export function invertMask(mask: Tensor<"float32">): Tensor<"float32"> {
  return tensor(
    "float32",
    mask.shape,
    Float32Array.from(mask.data, (v) => 1 - v),
  ) as Tensor<"float32">;
}

/** Bounding box of a mask's nonzero pixels (over all its planes), grown to at least `min` per side and kept inside. */
export function maskBox(mask: Tensor<"float32">, min = 1): { top: number; left: number; height: number; width: number } {
  const [m, , h, w] = dims4(mask, "maskBox");
  let y0 = h,
    y1 = -1,
    x0 = w,
    x1 = -1;
  for (let i = 0; i < m; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        if (mask.data[i * h * w + y * w + x]! > 0) {
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y);
          x0 = Math.min(x0, x);
          x1 = Math.max(x1, x);
        }
      }
  if (y1 < 0) throw new Error(`mask ${formatShape(mask.shape)} is empty`);
  const grow = (lo: number, hi: number, size: number): [number, number] => {
    const want = Math.min(size, Math.max(min, hi - lo + 1));
    const start = Math.max(0, Math.min(size - want, Math.round((lo + hi + 1) / 2 - want / 2)));
    return [start, want];
  };
  const [top, height] = grow(y0, y1, h),
    [left, width] = grow(x0, x1, w);
  return { top, left, height, width };
}

/** A crop [N,C,height,width] at (top, left). */
export function crop(x: Tensor<"float32">, b: { top: number; left: number; height: number; width: number }): Tensor<"float32"> {
  const [n, c, h, w] = dims4(x, "crop");
  if (b.top < 0 || b.left < 0 || b.top + b.height > h || b.left + b.width > w)
    throw new Error(`crop ${b.height}×${b.width} at (${b.top}, ${b.left}) is outside ${h}×${w}`);
  const out = new Float32Array(n * c * b.height * b.width);
  for (let p = 0; p < n * c; p++)
    for (let y = 0; y < b.height; y++) {
      out.set(
        x.data.subarray(p * h * w + (b.top + y) * w + b.left, p * h * w + (b.top + y) * w + b.left + b.width),
        (p * b.height + y) * b.width,
      );
    }
  return tensor("float32", [n, c, b.height, b.width], out) as Tensor<"float32">;
}

/**
 * A rough line drawing of each image: the boundary of its silhouette (mean over channels above `threshold`), white on
 * black in every channel — pixels inside the silhouette with a 4-neighbour (or the image edge) outside it.
 */
export function outlineSketch(x: Tensor<"float32">, threshold = 0.5): Tensor<"float32"> {
  const [n, c, h, w] = dims4(x, "outlineSketch");
  const plane = h * w,
    out = new Float32Array(x.data.length);
  const inside = new Uint8Array(plane);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < plane; j++) {
      let s = 0;
      for (let ch = 0; ch < c; ch++) s += x.data[(i * c + ch) * plane + j]!;
      inside[j] = s / c > threshold ? 1 : 0;
    }
    const at = (y: number, xx: number) => (y >= 0 && xx >= 0 && y < h && xx < w ? inside[y * w + xx]! : 0);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        if (!at(y, xx) || (at(y - 1, xx) && at(y + 1, xx) && at(y, xx - 1) && at(y, xx + 1))) continue;
        for (let ch = 0; ch < c; ch++) out[(i * c + ch) * plane + y * w + xx] = 1;
      }
  }
  return tensor("float32", x.shape, out) as Tensor<"float32">;
}
