// Synthetic out-of-distribution targets (browser-safe): simple shapes no image dataset's classes contain.
import { type Tensor, tensor } from "../ir/tensor.js";

type Shape = (u: number, v: number) => number;

// u, v ∈ [−1, 1] image coordinates; each returns the foreground weight in [0, 1]
const SHAPES: readonly [string, Shape][] = [
  ["disk", (u, v) => (u * u + v * v < 0.45 ? 1 : 0)],
  [
    "ring",
    (u, v) => {
      const r = Math.hypot(u, v);
      return r > 0.45 && r < 0.75 ? 1 : 0;
    },
  ],
  ["square", (u, v) => (Math.max(Math.abs(u), Math.abs(v)) < 0.55 ? 1 : 0)],
  ["cross", (u, v) => (Math.min(Math.abs(u), Math.abs(v)) < 0.18 && Math.max(Math.abs(u), Math.abs(v)) < 0.8 ? 1 : 0)],
  ["triangle", (u, v) => (v < 0.6 && v > -0.7 + 2 * Math.abs(u) - 0.1 ? 1 : 0)],
  ["stripes", (_u, v) => (Math.floor((v + 1) * 4) % 2 === 0 ? 1 : 0)],
  ["checkerboard", (u, v) => ((Math.floor((u + 1) * 3) + Math.floor((v + 1) * 3)) % 2 === 0 ? 1 : 0)],
  ["gradient", (u, v) => (u + v + 2) / 4],
];

// foreground colours per shape for RGB inputs (gray inputs use the luminance only)
const COLOURS: readonly [number, number, number][] = [
  [0.95, 0.2, 0.2],
  [0.2, 0.8, 0.3],
  [0.2, 0.4, 0.95],
  [0.95, 0.85, 0.2],
  [0.8, 0.3, 0.9],
  [0.2, 0.85, 0.85],
  [1, 1, 1],
  [1, 0.6, 0.2],
];

/** Up to eight shape images [n, channels, height, width] in [0,1] (light shapes on black), and their names. */
export function syntheticShapes(n: number, channels: number, height: number, width: number): { x: Tensor<"float32">; names: string[] } {
  const k = Math.min(n, SHAPES.length),
    plane = height * width;
  const data = new Float32Array(k * channels * plane);
  for (let i = 0; i < k; i++) {
    const [, fg] = SHAPES[i]!;
    const col = COLOURS[i]!;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const w = fg((2 * x + 1) / width - 1, (2 * y + 1) / height - 1);
        for (let c = 0; c < channels; c++) data[(i * channels + c) * plane + y * width + x] = w * (channels === 1 ? 1 : col[c]!);
      }
    }
  }
  return { x: tensor("float32", [k, channels, height, width], data) as Tensor<"float32">, names: SHAPES.slice(0, k).map(([name]) => name) };
}
