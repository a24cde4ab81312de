// Winograd convolution F(m×m, 3×3) in standard ONNX ops, for 3×3 stride-1 pad-1 ungrouped Convs: input tiles transformed by
// a constant Conv (stride m, a² = (m+2)² outputs per channel), one batched MatMul over the a² transform positions, the
// output transform as one MatMul and a Transpose back to NCHW. m = 2 does 2.25× fewer multiplies, m = 4 4× (Lavin & Gray 2016).
import type { Builder } from "../builder/builder.js";
import type { Node, Value } from "../ir/graph.js";
import { tensor } from "../ir/tensor.js";
import type { ConvAttrs } from "./attrs.js";

export type WinogradTile = 2 | 4;

/** Bᵀ (a×a), G (a×3), Aᵀ (m×a) of F(m×m, 3×3) with the usual interpolation points (0, ±1, ±2, ∞ for m = 4). */
const MATRICES: Record<WinogradTile, { bt: number[][]; g: number[][]; at: number[][] }> = {
  2: {
    bt: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    g: [
      [1, 0, 0],
      [0.5, 0.5, 0.5],
      [0.5, -0.5, 0.5],
      [0, 0, 1],
    ],
    at: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  4: {
    bt: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    g: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    at: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
};

/** kron(P, P) as [rows², cols²] with entry [(i·r + j), (u·c + v)] = P[i][u]·P[j][v]. */
function kron2(p: number[][]): { rows: number; cols: number; data: Float32Array } {
  const r = p.length,
    c = p[0]!.length;
  const data = new Float32Array(r * r * c * c);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < r; j++)
      for (let u = 0; u < c; u++) for (let v = 0; v < c; v++) data[(i * r + j) * c * c + u * c + v] = p[i]![u]! * p[j]![v]!;
  return { rows: r * r, cols: c * c, data };
}

/** Whether a Conv node is a 3×3, stride-1, dilation-1, ungrouped float32 Conv with pads 1 and static C, H, W, K. */
export function winogradEligible(n: Node): boolean {
  if (n.op !== "Conv") return false;
  const a = n.attrs as ConvAttrs;
  const x = n.inputs[0]!,
    w = n.inputs[1]!;
  const xs = x.shape,
    ws = w.staticShape;
  if (x.dtype !== "float32" || !xs || xs.length !== 4 || !ws || ws.length !== 4) return false;
  if (xs.slice(1).some((d) => typeof d !== "number") || ws[2] !== 3 || ws[3] !== 3) return false;
  if ((a.group ?? 1) !== 1 || (a.auto_pad && a.auto_pad !== "NOTSET")) return false;
  if ((a.strides ?? [1, 1]).some((s) => s !== 1) || (a.dilations ?? [1, 1]).some((d) => d !== 1)) return false;
  return (a.pads ?? [0, 0, 0, 0]).every((p) => p === 1);
}

/** The transformed weights U [a², K, C] = G w Gᵀ per (K, C), folded by ORT when w is a constant. */
export function winogradWeights(g: Builder, w: Value, m: WinogradTile): Value {
  const [k, c] = w.staticShape! as [number, number];
  const gg = kron2(MATRICES[m].g); // [a², 9]
  const a2 = gg.rows;
  // [K·C, 9] × [9, a²]: the transposed kron(G, G)
  const ggT = new Float32Array(9 * a2);
  for (let p = 0; p < a2; p++) for (let q = 0; q < 9; q++) ggT[q * a2 + p] = gg.data[p * 9 + q]!;
  const u = g.matmul(g.reshape(w, [k * c, 9]), g.constant(tensor("float32", [9, a2], ggT), "winograd_g"));
  return g.reshape(g.transpose(u, [1, 0]), [a2, k, c]);
}

/** y = Conv(x, w, b) with pads 1, stride 1 as Winograd F(m×m, 3×3); `u` may be given pre-transformed ([a², K, C]). */
export function winogradConv(g: Builder, x: Value, w: Value, b: Value | null, m: WinogradTile, u?: Value): Value {
  const [, c, h, wd] = x.shape! as [unknown, number, number, number];
  const k = w.staticShape![0]!;
  const mat = MATRICES[m];
  const a = m + 2,
    a2 = a * a;
  const th = Math.ceil(h / m),
    tw = Math.ceil(wd / m);
  const xp = g.pad(x, [0, 0, 1, 1, 0, 0, th * m + 1 - h, tw * m + 1 - wd]);
  // input transform Bᵀ d B of every a×a tile (stride m) as one single-channel Conv: kernel (i, j) is Bᵀ[i]ᵀ Bᵀ[j]
  const bt = kron2(mat.bt);
  const kernel = g.constant(tensor("float32", [a2, 1, a, a], bt.data), "winograd_bt");
  const v = g.conv(g.reshape(xp, [-1, 1, th * m + 2, tw * m + 2]), kernel, null, { strides: [m, m] });
  // [N·C, a², th, tw] → [a², C, N·T]
  const vt = g.reshape(g.transpose(g.reshape(v, [-1, c, a2, th * tw]), [2, 1, 0, 3]), [a2, c, -1]);
  const mm = g.matmul(u ?? winogradWeights(g, w, m), vt); // [a², K, N·T]
  const at = kron2(mat.at); // [m², a²]
  const y = g.matmul(g.constant(tensor("float32", [at.rows, at.cols], at.data), "winograd_at"), g.reshape(mm, [a2, -1]));
  // [m, m, K, N, th, tw] → [N, K, th, m, tw, m]
  let out = g.reshape(g.transpose(g.reshape(y, [m, m, k, -1, th, tw]), [3, 2, 4, 0, 5, 1]), [-1, k, th * m, tw * m]);
  if (th * m !== h || tw * m !== wd) out = g.slice(out, [0, 0], [h, wd], [2, 3]);
  return b ? g.addv(out, g.reshape(b, [1, k, 1, 1])) : out;
}
