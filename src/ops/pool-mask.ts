// MaxPool's gradient without its Indices output, for backends that run neither Indices nor MaxUnpool nor ScatterElements
// (WebGPU): window patches by a one-hot Conv, an equality mask against the pooled maximum keeping the first tied one, and
// the one-hot ConvTranspose placing dy back. Exact: the Convs only copy values and count 0/1 flags.
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";
import { tensor } from "../ir/tensor.js";
import { adjointWindow } from "./conv.js";
import type { Window } from "./window.js";

/** Per window offset and output position, 1 where the offset reads the input and 0 where it reads padding; undefined when all read it. */
function validMask(win: Window & { pads: number[] }, xs: readonly number[], out: readonly number[]): number[] | undefined {
  const n = xs.length;
  // per spatial dim: valid[a][o] for kernel offset a and output position o
  const perDim = xs.map((size, i) =>
    Array.from({ length: win.k[i]! }, (_, a) =>
      Array.from({ length: out[i]! }, (_, o) => {
        const p = o * win.s[i]! - win.pads[i]! + a * win.d[i]!;
        return p >= 0 && p < size ? 1 : 0;
      }),
    ),
  );
  if (perDim.every((d) => d.every((row) => row.every((v) => v === 1)))) return undefined;
  // C-order over [offset dims..., output dims...] then regrouped as [K, ...out]
  let offsets: number[][] = [[]];
  for (let i = 0; i < n; i++) offsets = offsets.flatMap((o) => Array.from({ length: win.k[i]! }, (_, a) => [...o, a]));
  const vals: number[] = [];
  for (const a of offsets) {
    let plane = [1];
    for (let i = 0; i < n; i++) plane = plane.flatMap((v) => perDim[i]![a[i]!]!.map((c) => v * c));
    vals.push(...plane);
  }
  return vals;
}

// dx[i] = Σ_{windows o} dy[o] · [i is the first position of window o holding its maximum y[o]]
// NOTE: ties go to the first maximum in the window's row-major scan, as ORT's MaxPool Indices (the CPU formulation) do
export function maxPoolMaskVjp(g: Builder, x: Value, y: Value, dy: Value, win: Window & { pads: number[] }, xs: readonly number[]): Value {
  const n = xs.length,
    k = win.k,
    out = win.out as number[];
  const K = k.reduce((a, b) => a * b, 1);
  const ones = k.map(() => 1);
  // channel j of the one-hot kernel picks window offset j (row-major: MaxPool's scan order)
  const onehot = new Array<number>(K * K).fill(0);
  for (let j = 0; j < K; j++) onehot[j * K + j] = 1;
  const pick = g.constant(tensor(x.dtype, [K, 1, ...k], onehot), "window_onehot");
  // in ceil mode the last window may overhang the padded input: pad the Conv's end so it yields the pooled size
  const pads = [...win.pads];
  for (let i = 0; i < n; i++)
    pads[i + n] = Math.max(pads[i + n]!, win.s[i]! * (out[i]! - 1) + (k[i]! - 1) * win.d[i]! + 1 - xs[i]! - pads[i]!);
  const patches = g.conv(g.reshape(x, [-1, 1, ...xs]), pick, null, { kernel_shape: k, strides: win.s, dilations: win.d, pads });
  let tied = g.cast(g.equal(patches, g.reshape(y, [-1, 1, ...out])), x.dtype);
  // MaxPool skips padding; the Conv reads it as 0, which must not count as a maximum
  const valid = validMask({ ...win, pads }, xs, out);
  if (valid) tied = g.mul(tied, g.constant(tensor(x.dtype, [1, K, ...out], valid), "window_valid"));
  let first = tied;
  if (K > 1) {
    // earlier[j] = Σ_{i<j} tied[i], a 1×1 Conv across offsets: the first maximum is the tied offset with none before it
    const lower = new Array<number>(K * K).fill(0);
    for (let j = 0; j < K; j++) for (let i = 0; i < j; i++) lower[j * K + i] = 1;
    // every attribute explicit: onnxruntime-web's WebGPU Conv does not fill in the defaults ("strides should be 2D")
    const attrs = { kernel_shape: ones, strides: ones, dilations: ones, pads: [...ones, ...ones].map(() => 0) };
    const earlier = g.conv(tied, g.constant(tensor(x.dtype, [K, K, ...ones], lower), "earlier_offsets"), null, attrs);
    first = g.where(g.less(earlier, g.scalar(0.5, x.dtype)), tied, g.scalar(0, x.dtype));
  }
  const placed = adjointWindow(g, g.mul(first, g.reshape(dy, [-1, 1, ...out])), pick, win, 1, xs);
  return g.reshape(placed, x.staticShape ?? g.shapeOf(x));
}
