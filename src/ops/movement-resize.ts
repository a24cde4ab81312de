// Resize: shape rule for scales or sizes, and the VJP of every mode as interpolation-matrix products on the last two axes.
import type { Dim, Node, Value } from "../ir/graph.js";
import { formatShape } from "../ir/tensor.js";
import { type AxisResize, COORD_MODES, INTERP_MODES, NEAREST_MODES, interpMatrix } from "./resize-interp.js";
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

function refuse(node: Node<"Resize">, why: string): Error {
  return new Error(`grad: cannot differentiate Resize "${node.name}": ${why}`);
}

export const resizeOps: OpTable<"Resize"> = {
  // y = Mh x Mwᵀ on the last two axes (M per axis from resize-interp: one-hot, linear or cubic weights)  ⇒  dx = Mhᵀ dy Mw
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
        if (!INTERP_MODES.includes(mode)) throw refuse(node, `mode "${mode}" is not supported (supported: ${INTERP_MODES.join(", ")})`);
        if (!COORD_MODES.includes(coord))
          throw refuse(node, `coordinate_transformation_mode "${coord}" is not supported (supported: ${COORD_MODES.join(", ")})`);
        if (mode === "nearest" && !NEAREST_MODES.includes(nearest)) throw refuse(node, `nearest_mode "${nearest}" is not supported`);
        const xs = x[0]!.shape,
          ys = y[0]!.shape,
          t = resizeTarget(x);
        if (!xs || !ys || !t) throw refuse(node, "scales or sizes and the input rank must be known");
        const r = xs.length;
        const roi = coord === "tf_crop_and_resize" ? (x[1] ? ints(x[1].data) : undefined) : undefined;
        if (coord === "tf_crop_and_resize" && (!roi || roi.length !== 2 * r))
          throw refuse(node, `tf_crop_and_resize needs a constant roi of ${2 * r} values`);
        let d = dy!;
        for (let i = 0; i < r; i++) {
          const [inLen, outLen] = [xs[i]!, ys[i]!];
          const scale = t.scales ? t.scales[i]! : typeof inLen === "number" && typeof outLen === "number" ? f32(outLen / inLen) : 1;
          if (inLen === outLen && scale === 1) continue;
          if (i < r - 2)
            throw refuse(node, `axis ${i} of input ${formatShape(xs)} is resized; only the last two axes may be (NCHW, scales on H and W)`);
          if (typeof inLen !== "number" || typeof outLen !== "number") throw refuse(node, `axis ${i} is resized with a run-time size`);
          const last = i === r - 1;
          const axis: AxisResize = {
            inLen,
            outLen,
            scale,
            mode,
            coord,
            nearest,
            cubicA: a.cubic_coeff_a ?? -0.75,
            excludeOutside: (a.exclude_outside ?? 0) !== 0,
            roi: roi ? [roi[i]!, roi[i + r]!] : [0, 1],
          };
          const m = g.constant(interpMatrix(axis, dy!.dtype, !last), "resize_map");
          // last axis: dx = dy @ Mw; second last: dx = Mhᵀ @ dy
          d = last ? g.matmul(d, m) : g.matmul(m, d);
        }
        return [d];
      },
    },
  },
};
