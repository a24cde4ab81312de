// Image batches → one picture (grids of cells) and batch resizing/conversion — browser-safe, no node imports.
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";

/** An 8-bit picture, HWC, row-major: what PNG writers take. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export interface GridOptions {
  /** Cells per row (default ceil(sqrt(N))). */
  cols?: number;
  /** Pixels between cells and around the grid (default 2). */
  pad?: number;
  /** Integer nearest-neighbour upscale of every cell (default 1). */
  scale?: number;
  /** Gray level of padding and empty cells, 0..255 (default 255). */
  background?: number;
}

interface Layout {
  pad: number;
  scale: number;
  background: number;
}

function layout(fn: string, o: GridOptions): Layout {
  const pad = o.pad ?? 2,
    scale = o.scale ?? 1,
    background = o.background ?? 255;
  if (!Number.isSafeInteger(pad) || pad < 0) throw new Error(`${fn}: pad must be a non-negative integer, got ${pad}`);
  if (!Number.isSafeInteger(scale) || scale < 1) throw new Error(`${fn}: scale must be a positive integer, got ${scale}`);
  if (!Number.isInteger(background) || background < 0 || background > 255)
    throw new Error(`${fn}: background must be an integer in 0..255, got ${background}`);
  return { pad, scale, background };
}

/** [N,C,H,W] with C = 1 or 3, as a tuple; `what` names the argument in the error. */
function imageShape(fn: string, what: string, t: Tensor<"float32">): [number, 1 | 3, number, number] {
  const s = t.shape;
  if (s.length !== 4 || (s[1] !== 1 && s[1] !== 3) || t.data.length !== s[0]! * s[1] * s[2]! * s[3]!) {
    throw new Error(`${fn}: ${what} must be [N,C,H,W] with C = 1 or 3, got ${formatShape(s)}`);
  }
  return [s[0]!, s[1], s[2]!, s[3]!];
}

/** Float in [0,1] → byte; out-of-range values clamp and NaN is black, so a diverged image still draws. */
const toByte = (v: number): number => (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0);

/** Paints image `i` of `t` ([N,C,H,W]) with its top-left corner at (x0, y0) of `img`, gray promoted to RGB. */
function paint(img: RawImage, t: Tensor<"float32">, i: number, x0: number, y0: number, scale: number): void {
  const [, c, h, w] = t.shape as [number, number, number, number];
  const hw = h * w,
    oc = img.channels,
    src = t.data;
  const base = i * c * hw;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < oc; k++) {
        const v = toByte(src[base + (c === 1 ? 0 : k) * hw + y * w + x]!);
        for (let dy = 0; dy < scale; dy++) {
          let p = ((y0 + y * scale + dy) * img.width + x0 + x * scale) * oc + k;
          for (let dx = 0; dx < scale; dx++, p += oc) img.data[p] = v;
        }
      }
    }
  }
}

/** A background-filled canvas of `cols`×`rows` cells of cw×ch pixels. */
function canvas(cols: number, rows: number, cw: number, ch: number, channels: 1 | 3, l: Layout): RawImage {
  const width = cols * cw + (cols + 1) * l.pad,
    height = rows * ch + (rows + 1) * l.pad;
  const data = new Uint8Array(width * height * channels).fill(l.background);
  return { width, height, channels, data };
}

/** Images [N,C,H,W] float32 in [0,1] (C = 1 or 3; values clamped, NaN → 0) laid out row-major in `cols` columns (default ceil(sqrt(N))). */
export function gridImage(images: Tensor<"float32">, o: GridOptions = {}): RawImage {
  const [n, c, h, w] = imageShape("gridImage", "images", images);
  if (n === 0) throw new Error(`gridImage: no images (got ${formatShape(images.shape)})`);
  const l = layout("gridImage", o);
  const cols = o.cols ?? Math.ceil(Math.sqrt(n));
  if (!Number.isSafeInteger(cols) || cols < 1) throw new Error(`gridImage: cols must be a positive integer, got ${cols}`);
  const cw = w * l.scale,
    ch = h * l.scale;
  const img = canvas(cols, Math.ceil(n / cols), cw, ch, c, l);
  for (let i = 0; i < n; i++) {
    const r = Math.floor(i / cols),
      k = i % cols;
    paint(img, images, i, l.pad + k * (cw + l.pad), l.pad + r * (ch + l.pad), l.scale);
  }
  return img;
}

/** One grid row per entry (each [Ni,C,H,W], same C,H,W, rows may differ in length: missing cells are background). Rows with 0 images leave an empty row. If channels differ between rows (1 vs 3), gray is promoted to RGB. */
export function gridRows(rows: readonly Tensor<"float32">[], o: Omit<GridOptions, "cols"> = {}): RawImage {
  if (rows.length === 0) throw new Error("gridRows: no rows");
  const shapes = rows.map((t, r) => imageShape("gridRows", `row ${r}`, t));
  const [, , h, w] = shapes[0]!;
  for (const [r, s] of shapes.entries()) {
    if (s[2] !== h || s[3] !== w) throw new Error(`gridRows: row ${r} has images of ${s[2]}×${s[3]}, row 0 has ${h}×${w}`);
  }
  const l = layout("gridRows", o);
  const channels = shapes.some((s) => s[1] === 3) ? 3 : 1;
  const cols = Math.max(...shapes.map((s) => s[0]));
  const cw = w * l.scale,
    ch = h * l.scale;
  const img = canvas(cols, rows.length, cw, ch, channels, l);
  for (const [r, t] of rows.entries()) {
    for (let i = 0; i < shapes[r]![0]; i++) paint(img, t, i, l.pad + i * (cw + l.pad), l.pad + r * (ch + l.pad), l.scale);
  }
  return img;
}

/** Source sample positions of one axis for bilinear resizing with align_corners=false (PyTorch's rule). */
function axisTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const i0 = new Int32Array(outSize),
    i1 = new Int32Array(outSize),
    f = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    // PyTorch clamps negative source coordinates to 0 (edge pixels repeat instead of extrapolating).
    const s = Math.max(0, (d + 0.5) * scale - 0.5);
    const a = Math.min(Math.floor(s), inSize - 1);
    i0[d] = a;
    i1[d] = Math.min(a + 1, inSize - 1);
    f[d] = s - a;
  }
  return { i0, i1, f };
}

/** Bilinear resize of `planes` H×W planes stored back to back. */
function resizePlanes(src: Float32Array, planes: number, h: number, w: number, oh: number, ow: number): Float32Array {
  const ty = axisTaps(h, oh),
    tx = axisTaps(w, ow);
  const out = new Float32Array(planes * oh * ow);
  for (let p = 0; p < planes; p++) {
    const s = p * h * w;
    let o = p * oh * ow;
    for (let y = 0; y < oh; y++) {
      const r0 = s + ty.i0[y]! * w,
        r1 = s + ty.i1[y]! * w,
        fy = ty.f[y]!;
      for (let x = 0; x < ow; x++, o++) {
        const a = tx.i0[x]!,
          b = tx.i1[x]!,
          fx = tx.f[x]!;
        const top = src[r0 + a]! + (src[r0 + b]! - src[r0 + a]!) * fx;
        const bottom = src[r1 + a]! + (src[r1 + b]! - src[r1 + a]!) * fx;
        out[o] = top + (bottom - top) * fy;
      }
    }
  }
  return out;
}

/** Resize and convert a batch [N,C,H,W] to [N,channels,height,width]: bilinear (align_corners=false, like PyTorch's F.interpolate with antialias off) when sizes differ, gray→RGB by replication, RGB→gray with ITU-R 601 weights (0.299, 0.587, 0.114). Identity (same object allowed) when nothing changes. */
export function resizeBatch(x: Tensor<"float32">, to: { channels: number; height: number; width: number }): Tensor<"float32"> {
  const s = x.shape;
  if (s.length !== 4 || x.data.length !== s[0]! * s[1]! * s[2]! * s[3]!)
    throw new Error(`resizeBatch: input must be [N,C,H,W], got ${formatShape(s)}`);
  const [n, c, h, w] = s as [number, number, number, number];
  const { channels: oc, height: oh, width: ow } = to;
  if (![oc, oh, ow].every((v) => Number.isSafeInteger(v) && v >= 1))
    throw new Error(`resizeBatch: target [${oc},${oh},${ow}] must be positive integers`);
  if (c !== oc && !((c === 1 || c === 3) && (oc === 1 || oc === 3))) {
    throw new Error(`resizeBatch: cannot convert ${c} channels to ${oc} (only gray ↔ RGB), input ${formatShape(s)}`);
  }
  if (c === oc && h === oh && w === ow) return x;
  if (n > 0 && (h === 0 || w === 0)) throw new Error(`resizeBatch: cannot resize empty images ${formatShape(s)}`);
  let data = x.data;
  let ch = c;
  // To gray first (fewer planes to resize); from gray last (replicate the resized plane). Both are linear, so order is free.
  if (c === 3 && oc === 1) {
    data = toGray(data, n, h * w);
    ch = 1;
  }
  if (h !== oh || w !== ow) data = resizePlanes(data, n * ch, h, w, oh, ow);
  if (ch === 1 && oc === 3) data = toRgb(data, n, oh * ow);
  return tensor("float32", [n, oc, oh, ow], data);
}

function toGray(src: Float32Array, n: number, hw: number): Float32Array {
  const out = new Float32Array(n * hw);
  for (let i = 0; i < n; i++) {
    const r = i * 3 * hw,
      o = i * hw;
    for (let p = 0; p < hw; p++) out[o + p] = 0.299 * src[r + p]! + 0.587 * src[r + hw + p]! + 0.114 * src[r + 2 * hw + p]!;
  }
  return out;
}

function toRgb(src: Float32Array, n: number, hw: number): Float32Array {
  const out = new Float32Array(n * 3 * hw);
  for (let i = 0; i < n; i++) {
    const plane = src.subarray(i * hw, (i + 1) * hw);
    for (let k = 0; k < 3; k++) out.set(plane, (i * 3 + k) * hw);
  }
  return out;
}
