// Resize: shape rule for scales or sizes, and the nearest-mode VJP as one-hot matrix products on the last two axes.
import type { Dim, Node, Value } from "../ir/graph.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { freshShape, label } from "./movement-util.js";
import type { InferCtx, OpTable } from "./types.js";
import { ints } from "./util.js";

const f32 = Math.fround;

/** Constant scales (as ORT reads them, float32) or sizes; an empty scales tensor counts as absent (PyTorch exports one). */
function resizeTarget(ins: readonly (Value | null)[]): { scales?: number[]; sizes?: number[] } | undefined {
  const [scales, sizes] = [ins[2] ?? null, ins[3] ?? null];
  if (scales && scales.shape && scales.shape[0] !== 0) {
    const s = ints(scales.data);
    return s ? { scales: s.map(f32) } : undefined;
  }
  if (sizes) {
    const s = ints(sizes.data);
    return s ? { sizes: s } : undefined;
  }
  return undefined;
}

function resizeShape(ctx: InferCtx<"Resize">): Dim[] | null {
  const xs = ctx.inputs[0]!.shape;
  if (!xs) return null;
  const t = resizeTarget(ctx.inputs);
  if (!t) return freshShape(ctx, xs.length);
  const v = t.scales ?? t.sizes!;
  if (v.length !== xs.length)
    throw new Error(`${label(ctx)}: ${t.scales ? "scales" : "sizes"} has ${v.length} entries for rank ${xs.length} input ${ctx.inputs[0]}`);
  return xs.map((d, i) => {
    if (t.sizes) return t.sizes[i]!;
    const s = t.scales![i]!;
    if (s <= 0) throw new Error(`${label(ctx)}: scale ${s} must be positive`);
    if (typeof d !== "number") return s === 1 ? d : ctx.freshDim();
    return Math.floor(f32(s * d));
  });
}

const COORD_MODES = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn"];
const NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

/** Input index read by each output index along one axis, computed in float32 as ORT's nearest-mode Resize does. */
export function nearestMap(inLen: number, outLen: number, scale: number, coord: string, nearest: string): number[] {
  const s = f32(scale);
  return Array.from({ length: outLen }, (_, o) => {
    let x: number;
    switch (coord) {
      case "half_pixel":
        x = f32(f32(f32(o + 0.5) / s) - 0.5);
        break;
      case "pytorch_half_pixel":
        x = outLen > 1 ? f32(f32(f32(o + 0.5) / s) - 0.5) : 0;
        break;
      case "asymmetric":
        x = f32(o / s);
        break;
      case "tf_half_pixel_for_nn":
        x = f32(f32(o + 0.5) / s);
        break;
      default:
        x = outLen === 1 ? 0 : f32(f32(o * (inLen - 1)) / (outLen - 1));
        break;
    }
    let i: number;
    switch (nearest) {
      case "floor":
        i = Math.floor(x);
        break;
      case "ceil":
        i = Math.ceil(x);
        break;
      case "round_prefer_ceil":
        i = Math.sign(x) * Math.round(Math.abs(x));
        break;
      default:
        i = x === Math.trunc(x) + 0.5 ? Math.floor(x) : Math.sign(x) * Math.round(Math.abs(x));
        break;
    }
    return Math.min(Math.max(i, 0), inLen - 1);
  });
}

/** The one-hot matrix [outLen, inLen] with a 1 at (o, map[o]) (or its transpose), in the gradient's dtype. */
function oneHot(map: readonly number[], inLen: number, dtype: Tensor["dtype"], transposed: boolean): Tensor {
  const n = map.length;
  const vals = new Array<number>(n * inLen).fill(0);
  map.forEach((i, o) => {
    vals[transposed ? i * n + o : o * inLen + i] = 1;
  });
  return tensor(dtype, transposed ? [inLen, n] : [n, inLen], vals);
}

function refuse(node: Node<"Resize">, why: string): Error {
  return new Error(`grad: cannot differentiate Resize "${node.name}": ${why}`);
}

export const resizeOps: OpTable<"Resize"> = {
  // d resize (nearest): with y = Mh x Mw^T on the last two axes (one-hot maps), dx = Mh^T (dy Mw)
  Resize: {
    stopGradient: [1, 2, 3],
    attrs: {
      mode: "string",
      coordinate_transformation_mode: "string",
      nearest_mode: "string",
      cubic_coeff_a: "float",
      exclude_outside: "int",
      extrapolation_value: "float",
    },
    arity: [1, 4],
    infer: (ctx) => [{ dtype: ctx.inputs[0]!.dtype, shape: resizeShape(ctx) }],
    grad: {
      kind: "vjp",
      vjp: ({ g, node, x, y }, [dy]) => {
        const a = node.attrs;
        const mode = a.mode ?? "nearest",
          coord = a.coordinate_transformation_mode ?? "half_pixel",
          nearest = a.nearest_mode ?? "round_prefer_floor";
        if (mode !== "nearest") throw refuse(node, `mode "${mode}" has no gradient rule, only mode "nearest"`);
        if (!COORD_MODES.includes(coord))
          throw refuse(node, `coordinate_transformation_mode "${coord}" is not supported (supported: ${COORD_MODES.join(", ")})`);
        if (!NEAREST_MODES.includes(nearest)) throw refuse(node, `nearest_mode "${nearest}" is not supported`);
        const xs = x[0]!.shape,
          ys = y[0]!.shape,
          t = resizeTarget(x);
        if (!xs || !ys || !t) throw refuse(node, "scales or sizes and the input rank must be known");
        const r = xs.length;
        let d = dy!;
        for (let i = 0; i < r; i++) {
          const [inLen, outLen] = [xs[i]!, ys[i]!];
          const scale = t.scales ? t.scales[i]! : typeof inLen === "number" && typeof outLen === "number" ? f32(outLen / inLen) : 1;
          if (inLen === outLen && scale === 1) continue;
          if (i < r - 2) throw refuse(node, `axis ${i} is resized; only the last two axes may be`);
          if (typeof inLen !== "number" || typeof outLen !== "number") throw refuse(node, `axis ${i} is resized with a run-time size`);
          const last = i === r - 1;
          const m = g.constant(oneHot(nearestMap(inLen, outLen, scale, coord, nearest), inLen, dy!.dtype, !last), "resize_map");
          // last axis: dx = dy @ Mw; second last: dx = Mh^T @ dy
          d = last ? g.matmul(d, m) : g.matmul(m, d);
        }
        return [d];
      },
    },
  },
};
