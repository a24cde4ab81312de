// Drawing on canvases: image grids (via the library's gridImage), the objective curve, class-probability bars, a brush pad.
import { type Tensor, gridImage, tensor } from "../../src/index.js";
import type { WireTensor } from "./protocol.js";

export const asTensor = (w: WireTensor): Tensor<"float32"> => tensor("float32", w.shape, w.data) as Tensor<"float32">;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...kids: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
}

/** Draws images [N,C,H,W] in [0,1] as a grid; the canvas keeps the native size, CSS scales it pixelated. */
export function drawGrid(canvas: HTMLCanvasElement, x: Tensor<"float32">, cols?: number): void {
  const img = gridImage(x, { cols: cols ?? Math.min(x.shape[0]!, 10), pad: 1, background: 255 });
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext("2d")!;
  const out = ctx.createImageData(img.width, img.height);
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) out.data[i * 4 + c] = img.data[i * img.channels + (img.channels === 3 ? c : 0)]!;
    out.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
}

/** The perturbation x − x0 shown amplified around gray: 0.5 + gain·δ, gain mapping the largest |δ| to 0.5. */
export function amplified(x: Tensor<"float32">, x0: Tensor<"float32">): Tensor<"float32"> {
  let top = 1e-12;
  for (let i = 0; i < x.data.length; i++) top = Math.max(top, Math.abs(x.data[i]! - x0.data[i]!));
  const gain = 0.5 / top;
  return tensor(
    "float32",
    x.shape,
    x.data.map((v, i) => 0.5 + gain * (v - x0.data[i]!)),
  ) as Tensor<"float32">;
}

/** A line plot of the objective per step (one series per model, the same colors as the panels). */
export function drawCurve(canvas: HTMLCanvasElement, series: number[][], colors: string[]): void {
  const ctx = canvas.getContext("2d")!,
    w = canvas.width,
    h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const all = series.flat().filter(Number.isFinite);
  if (all.length < 2) return;
  const lo = Math.min(...all),
    hi = Math.max(...all),
    span = hi - lo || 1,
    n = Math.max(...series.map((s) => s.length));
  ctx.font = "10px sans-serif";
  ctx.fillStyle = "#555";
  ctx.fillText(hi.toPrecision(3), 2, 10);
  ctx.fillText(lo.toPrecision(3), 2, h - 2);
  series.forEach((s, k) => {
    ctx.strokeStyle = colors[k]!;
    ctx.beginPath();
    s.forEach((v, i) => {
      const px = 40 + ((w - 44) * i) / Math.max(1, n - 1),
        py = h - 4 - ((h - 8) * (v - lo)) / span;
      if (i) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
    });
    ctx.stroke();
  });
}

/** Horizontal bars of class probabilities of one example, the true class marked. */
export function drawBars(canvas: HTMLCanvasElement, probs: ArrayLike<number>, names: string[], truth?: number): void {
  const ctx = canvas.getContext("2d")!,
    w = canvas.width,
    rowH = 14;
  canvas.height = probs.length * rowH;
  ctx.clearRect(0, 0, w, canvas.height);
  ctx.font = "11px sans-serif";
  for (let c = 0; c < probs.length; c++) {
    ctx.fillStyle = c === truth ? "#2a7" : "#48c";
    ctx.fillRect(90, c * rowH + 2, (w - 130) * probs[c]!, rowH - 4);
    ctx.fillStyle = "#222";
    ctx.fillText((names[c] ?? String(c)).slice(0, 14), 2, c * rowH + 11);
    ctx.fillText(probs[c]!.toFixed(2), w - 36, c * rowH + 11);
  }
}

/**
 * A drawing pad over an h×w image: `mode` "draw" paints white strokes into the image (a drawn target), "brush" paints a
 * region mask shown in red (feature painting). The canvas is upscaled by `scale`.
 */
export class Pad {
  readonly canvas: HTMLCanvasElement;
  image: Float32Array;
  region: Float32Array;
  private down = false;

  constructor(
    readonly h: number,
    readonly w: number,
    readonly mode: "draw" | "brush",
    private readonly scale = 8,
    readonly radius = 1.5,
  ) {
    this.canvas = el("canvas", { width: w * scale, height: h * scale, className: "pad" });
    this.image = new Float32Array(h * w);
    this.region = new Float32Array(h * w);
    const at = (e: PointerEvent) => {
      const r = this.canvas.getBoundingClientRect();
      this.stroke(((e.clientX - r.left) / r.width) * w, ((e.clientY - r.top) / r.height) * h);
    };
    this.canvas.addEventListener("pointerdown", (e) => {
      this.down = true;
      at(e);
    });
    this.canvas.addEventListener("pointermove", (e) => {
      if (this.down) at(e);
    });
    window.addEventListener("pointerup", () => {
      this.down = false;
    });
    this.render();
  }

  /** Paints a disc of the brush radius at (x, y) in image pixels. */
  stroke(x: number, y: number): void {
    const target = this.mode === "draw" ? this.image : this.region;
    for (let yy = Math.floor(y - this.radius); yy <= y + this.radius; yy++) {
      for (let xx = Math.floor(x - this.radius); xx <= x + this.radius; xx++) {
        if (xx < 0 || yy < 0 || xx >= this.w || yy >= this.h) continue;
        const d = Math.hypot(xx + 0.5 - x, yy + 0.5 - y);
        if (d <= this.radius)
          target[yy * this.w + xx] = Math.max(target[yy * this.w + xx]!, this.mode === "draw" ? Math.min(1, 1.5 - d / this.radius) : 1);
      }
    }
    this.render();
  }

  setRect(x0: number, y0: number, x1: number, y1: number): void {
    this.region.fill(0);
    for (let y = y0; y < Math.min(y1, this.h); y++) for (let x = x0; x < Math.min(x1, this.w); x++) this.region[y * this.w + x] = 1;
    this.render();
  }

  clear(): void {
    (this.mode === "draw" ? this.image : this.region).fill(0);
    this.render();
  }

  render(): void {
    const ctx = this.canvas.getContext("2d")!,
      s = this.scale;
    for (let i = 0; i < this.h * this.w; i++) {
      const v = Math.round(this.image[i]! * 255),
        r = this.region[i]!;
      ctx.fillStyle = r > 0 ? `rgb(${Math.min(255, v + 120)},${Math.round(v * 0.6)},${Math.round(v * 0.6)})` : `rgb(${v},${v},${v})`;
      ctx.fillRect((i % this.w) * s, Math.floor(i / this.w) * s, s, s);
    }
  }
}
