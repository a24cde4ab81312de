// ConvTranspose output_shape at import: explicit pads by the ONNX formula, and an output larger than the natural size as a zero
// Pad after it (ORT's kernel clamps negative totals to 0 and splits odd totals its own way, so the attribute is not passed on).
import type { Value } from "../ir/graph.js";
import type { AutoPad } from "../ops/attrs.js";
import { outputShapePads, perDim, transposeNatural } from "../ops/window.js";
import type { Builder } from "./builder.js";

export interface PinnedConvTranspose {
  /** The node's attributes with output_shape and auto_pad replaced by explicit (non-negative) pads. */
  attrs: Record<string, unknown>;
  /** Zero padding after the node, [begins..., ends...] per spatial dim; all zeros when output_shape is within the natural size. */
  grow: number[];
}

/** Pins a ConvTranspose's output_shape to pads; undefined when there is none, or the input, kernel or output_shape is not static. */
export function pinOutputShape(
  label: string,
  x: Value | null,
  w: Value | null,
  attrs: Record<string, unknown>,
): PinnedConvTranspose | undefined {
  const target = attrs["output_shape"] as number[] | undefined;
  const xs = x?.shape?.slice(2);
  if (!target || !xs || !xs.every((d): d is number => typeof d === "number") || target.length !== xs.length) return undefined;
  const n = xs.length;
  const ks = (attrs["kernel_shape"] as number[] | undefined) ?? w?.shape?.slice(2);
  if (!ks || ks.length !== n || !ks.every((d): d is number => typeof d === "number")) return undefined;
  const s = perDim(label, "strides", attrs["strides"] as number[] | undefined, n, 1);
  const d = perDim(label, "dilations", attrs["dilations"] as number[] | undefined, n, 1);
  const op = perDim(label, "output_padding", attrs["output_padding"] as number[] | undefined, n, 0);
  const pads = new Array<number>(2 * n).fill(0),
    grow = new Array<number>(2 * n).fill(0);
  for (let i = 0; i < n; i++) {
    const [pb, pe] = outputShapePads(transposeNatural(xs[i]!, ks[i]!, s[i]!, d[i]!, op[i]!), target[i]!, attrs["auto_pad"] as AutoPad);
    [pads[i], grow[i]] = [Math.max(0, pb), Math.max(0, -pb)];
    [pads[i + n], grow[i + n]] = [Math.max(0, pe), Math.max(0, -pe)];
  }
  const out: Record<string, unknown> = { ...attrs, pads };
  delete out["output_shape"];
  delete out["auto_pad"];
  return { attrs: out, grow };
}

/** y (natural-size ConvTranspose without bias) zero-padded by `grow`, then the bias added everywhere, as ONNX defines it. */
export function growOutput(b: Builder, y: Value, grow: readonly number[], bias: Value | null): Value {
  const n = grow.length / 2;
  const padded = b.pad(y, [0, 0, ...grow.slice(0, n), 0, 0, ...grow.slice(n)]);
  return bias ? b.addv(padded, b.reshape(bias, [1, -1, ...new Array<number>(n).fill(1)])) : padded;
}
