// Conv and ConvTranspose: N-d shape rules and VJPs built from Conv and ConvTranspose themselves (no contrib *Grad ops).
import type { Builder } from "../builder/builder.js";
import type { Dim, Node, Value } from "../ir/graph.js";
import { formatShape, isFloatDType, tensor } from "../ir/tensor.js";
import type { ConvAttrs, ConvTransposeAttrs } from "./attrs.js";
import { type BackendProfile, dnnlTakes } from "./profile.js";
import type { OpTable, ValueType } from "./types.js";
import { opLabel } from "./util.js";
import { type Window, forwardWindow, transposeWindow } from "./window.js";

const CONV_SCHEMA = { auto_pad: "string", dilations: "ints", group: "int", kernel_shape: "ints", pads: "ints", strides: "ints" } as const;
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const noSymbol = (): string => {
  throw new Error("internal: symbolic size while building a gradient");
};

/** Checks dtypes, ranks, kernel and bias common to Conv and ConvTranspose; returns the kernel's spatial sizes. */
function checkOperands(label: string, x: Value, w: Value, b: Value | null, a: ConvAttrs, outChannels: Dim | undefined): number[] | null {
  for (const v of [w, b])
    if (v && v.dtype !== x.dtype) throw new Error(`${label}: ${v.toString()} has dtype ${v.dtype}, input ${x.toString()} is ${x.dtype}`);
  if (!isFloatDType(x.dtype)) throw new Error(`${label}: input ${x.toString()} must be float`);
  const group = a.group ?? 1;
  if (!Number.isInteger(group) || group < 1) throw new Error(`${label}: group ${group} must be a positive integer`);
  if (!x.shape) return null;
  const r = x.shape.length;
  if (r < 3) throw new Error(`${label}: input ${formatShape(x.shape)} must be [N,C,spatial...] with at least one spatial dim`);
  const ws = w.shape;
  if (ws && ws.length !== r)
    throw new Error(`${label}: weight ${formatShape(ws)} has rank ${ws.length}, input ${formatShape(x.shape)} has rank ${r}`);
  const wk = ws?.slice(2);
  let kernel: number[] | undefined = wk && wk.every((d) => typeof d === "number") ? (wk as number[]) : undefined;
  if (a.kernel_shape) {
    if (kernel && formatShape(kernel) !== formatShape(a.kernel_shape)) {
      throw new Error(`${label}: kernel_shape ${formatShape(a.kernel_shape)} does not match weight ${formatShape(ws)}`);
    }
    kernel = a.kernel_shape;
  }
  if (!kernel) throw new Error(`${label}: weight ${formatShape(ws)} has no static kernel size and no kernel_shape is given`);
  if (b && b.shape) {
    const ok = b.shape.length === 1 && (typeof b.shape[0] !== "number" || typeof outChannels !== "number" || b.shape[0] === outChannels);
    if (!ok) throw new Error(`${label}: bias ${formatShape(b.shape)} must be [${outChannels ?? "M"}] (one per output channel)`);
  }
  const d = a.dilations ?? [];
  if ((a.auto_pad === "SAME_UPPER" || a.auto_pad === "SAME_LOWER") && d.some((v) => v !== 1)) {
    throw new Error(
      `${label}: auto_pad ${a.auto_pad} with dilations ${formatShape(d)} is not supported by onnxruntime; give explicit pads`,
    );
  }
  return kernel;
}

/** The resolved geometry of a node for its VJP: explicit pads and static spatial sizes are required. */
function geometry(node: Node<"Conv"> | Node<"ConvTranspose">, x: Value, w: Value): { win: Window & { pads: number[] }; xs: number[] } {
  const label = opLabel(node.op, node.name);
  const xs = x.shape?.slice(2);
  const ks = w.shape?.slice(2);
  if (!xs || !ks || ![...xs, ...ks].every((d) => typeof d === "number")) {
    throw new Error(
      `${label}: the gradient needs static spatial sizes, input is ${formatShape(x.shape)} and weight ${formatShape(w.shape)}`,
    );
  }
  const f = node.op === "Conv" ? forwardWindow : transposeWindow;
  const win = f(label, xs, node.attrs, ks as number[], noSymbol);
  return { win: win as Window & { pads: number[] }, xs: xs as number[] };
}

/** Adjoint of a forward window (Conv, or a pool's ones kernel): ConvTranspose sized to `target` by output_padding or a larger end pad. */
export function adjointWindow(
  g: Builder,
  dy: Value,
  w: Value,
  win: Window & { pads: number[] },
  group: number,
  target: readonly number[],
): Value {
  const n = target.length;
  const pads = [...win.pads];
  const op: number[] = [];
  for (let i = 0; i < n; i++) {
    const outSize = win.out[i] as number;
    const natural = win.s[i]! * (outSize - 1) + (win.k[i]! - 1) * win.d[i]! + 1 - pads[i]! - pads[i + n]!;
    const diff = target[i]! - natural;
    // diff < stride always: floor mode skips < stride rows; ceil mode overshoots, or after dropping a window skips pad_end − k + stride < stride
    if (diff >= win.s[i]!) throw new Error(`internal: adjoint window short by ${diff} ≥ stride ${win.s[i]} in spatial dim ${i}`);
    if (diff < 0) pads[i + n]! -= diff;
    op.push(Math.max(0, diff));
  }
  const attrs: ConvTransposeAttrs = { strides: win.s, dilations: win.d, pads };
  if (group !== 1) attrs.group = group;
  if (op.some((v) => v !== 0)) attrs.output_padding = op;
  return g.one("ConvTranspose", [dy, w], attrs);
}

/** Stride-1 Conv input gradient as a Conv with flipped, in/out-swapped weights (≈1.5× faster than ConvTranspose on ORT CPU); null when not stride 1. */
function flippedConv(g: Builder, dy: Value, w: Value, win: Window & { pads: number[] }, group: number): Value | null {
  const n = win.k.length;
  const o = w.shape![0]!,
    cg = w.shape![1]!;
  if (win.s.some((v) => v !== 1) || typeof o !== "number" || typeof cg !== "number") return null;
  // dx[c,i] = Σ_{o,k} dy[o, i+pb−k·d]·W[o,c,k]: a correlation with W reversed, padded by (window − 1 − pad) on each side
  const pads = win.pads.map((p, i) => (win.k[i % n]! - 1) * win.d[i % n]! - p);
  if (pads.some((p) => p < 0)) return null;
  const sp = range(2, n + 2);
  const taps = win.k.reduce((a, b) => a * b, 1);
  // every axis flipped reverses the flattened taps: one MatMul by the reversal matrix, 2× faster than a negative-step
  // Slice on ORT CPU for fed weights (flipped once per weights: 30 of a ResNet-18 training step's ms; exact for finite W);
  // known weights keep the Slice, which folds
  if (group === 1 && !w.data && win.k.every((k) => k > 1) && isFloatDType(w.dtype)) {
    const rev = new Array<number>(taps * taps).fill(0);
    for (let i = 0; i < taps; i++) rev[i * taps + taps - 1 - i] = 1;
    const m = g.matmul(g.reshape(w, [o, cg, taps]), g.constant(tensor(w.dtype, [taps, taps], rev), "reverse"));
    const wt = g.reshape(g.transpose(m, [1, 0, 2]), [cg, o, ...win.k]);
    return g.conv(dy, wt, null, { strides: win.d.map(() => 1), dilations: win.d, pads });
  }
  let wt: Value;
  if (group === 1) wt = g.transpose(w, [1, 0, ...sp]);
  else if (cg === 1 && o === group) wt = w;
  else
    wt = g.reshape(g.transpose(g.reshape(w, [group, o / group, cg, ...win.k]), [0, 2, 1, ...range(3, n + 3)]), [
      group * cg,
      o / group,
      ...win.k,
    ]);
  const flip = sp.filter((a) => win.k[a - 2]! > 1);
  if (flip.length)
    wt = g.slice(
      wt,
      flip.map((a) => win.k[a - 2]! - 1),
      flip.map((a) => -win.k[a - 2]! - 1),
      flip,
      flip.map(() => -1),
    );
  // strides explicit (all 1): onnxruntime-web's WebGPU Conv does not fill in the default
  const attrs: ConvAttrs = { strides: win.d.map(() => 1), dilations: win.d, pads };
  if (group !== 1) attrs.group = group;
  return g.conv(dy, wt, null, attrs);
}

/** Most floats the im2col columns of gemmWeightGrad (all taps' shifted inputs) may hold per example and in all (256 MB); larger layers use the batch-axis Conv. */
export const IM2COL_MAX_FLOATS = { perExample: 1 << 20, total: 1 << 26 };

/**
 * dW of an ungrouped Conv as one GEMM per kernel tap over its shifted input, [Cout, N·P] × [N·P, Cin]: MLAS runs it near MatMul speed,
 * while the batch-axis Conv (a huge kernel, a tiny output) runs at a fraction of it; null when it does not apply.
 */
function gemmWeightGrad(
  g: Builder,
  inp: Value,
  gout: Value,
  win: Window & { pads: number[] },
  group: number,
  inSp: readonly number[],
): Value | null {
  const n = inSp.length;
  const [batch, cin] = inp.shape!,
    cout = gout.shape![1];
  if (group !== 1 || typeof cin !== "number" || typeof cout !== "number") return null;
  const outSp = win.out as number[];
  const taps = win.k.reduce((a, b) => a * b, 1),
    rows = taps * cin * outSp.reduce((a, b) => a * b, 1);
  if (rows > IM2COL_MAX_FLOATS.perExample || (typeof batch === "number" && rows * batch > IM2COL_MAX_FLOATS.total)) return null;
  const sp = range(2, n + 2);
  // channels first, so every tap's window slice stacks into rows of one [taps·Cin, N·P] matrix
  let a = g.transpose(inp, [1, 0, ...sp]);
  const pb = win.pads.slice(0, n);
  const reach = range(0, n).map((i) => (win.k[i]! - 1) * win.d[i]! + (outSp[i]! - 1) * win.s[i]! + 1);
  const pe = range(0, n).map((i) => Math.max(0, reach[i]! - pb[i]! - inSp[i]!));
  if ([...pb, ...pe].some((p) => p > 0)) a = g.pad(a, [0, 0, ...pb, 0, 0, ...pe]);
  const padded = range(0, n).map((i) => inSp[i]! + pb[i]! + pe[i]!);
  const dy = g.reshape(g.transpose(gout, [1, 0, ...sp]), [cout, -1]);
  const perTap: Value[] = [];
  for (let t = 0; t < taps; t++) {
    // tap t as a multi-index over the kernel, last axis fastest (the order of W's k... axes)
    const k: number[] = [];
    for (let i = n - 1, r = t; i >= 0; i--) {
      k[i] = r % win.k[i]!;
      r = Math.floor(r / win.k[i]!);
    }
    const starts = k.map((v, i) => v * win.d[i]!),
      ends = starts.map((s0, i) => s0 + (outSp[i]! - 1) * win.s[i]! + 1);
    const whole = starts.every((s0, i) => s0 === 0 && ends[i] === padded[i] && win.s[i] === 1);
    const col = g.reshape(whole ? a : g.slice(a, starts, ends, sp, win.s), [cin, -1]);
    // one GEMM per tap, no concatenated im2col matrix: its copy cost as much as the GEMM on ORT CPU
    perTap.push(g.unsqueeze(g.gemm(dy, col, null, { transB: 1 }), [2]));
  }
  // [Cout, Cin, taps] → [Cout, Cin, k...]
  return g.reshape(perTap.length === 1 ? perTap[0]! : g.concat(perTap, 2), [cout, cin, ...win.k]);
}

/** dW [Cout, Cin/group, k...] of a Conv from its input and output gradient: one (grouped) Conv over the batch axis with gout as kernel. */
function batchAxisWeightGrad(
  g: Builder,
  inp: Value,
  gout: Value,
  win: Window & { pads: number[] },
  group: number,
  inSp: readonly number[],
): Value {
  const n = inSp.length;
  const sp = range(2, n + 2);
  const outSp = win.out as number[];
  const cin = inp.shape![1]!,
    cout = gout.shape![1]!;
  let a: Value, k: Value;
  if (group === 1) {
    a = g.transpose(inp, [1, 0, ...sp]);
    k = g.transpose(gout, [1, 0, ...sp]);
  } else {
    if (typeof cin !== "number" || typeof cout !== "number") throw new Error(`internal: grouped weight gradient needs static channels`);
    const cg = cin / group,
      og = cout / group;
    a = g.reshape(g.transpose(g.reshape(inp, [0, group, cg, ...inSp]), [2, 1, 0, ...range(3, n + 3)]), [cg, -1, ...inSp]);
    k = g.reshape(g.transpose(g.reshape(gout, [0, group, og, ...outSp]), [1, 2, 0, ...range(3, n + 3)]), [cout, -1, ...outSp]);
  }
  // the end pad only needs to reach the last kernel tap; more would compute taps that are cropped anyway
  const pads = win.pads.map((p, i) => {
    if (i < n) return p;
    const j = i - n;
    const need = (win.k[j]! - 1) * win.d[j]! + (outSp[j]! - 1) * win.s[j]! + 1 - inSp[j]! - win.pads[j]!;
    return Math.min(p, Math.max(0, need));
  });
  const attrs: ConvAttrs = { strides: win.d, dilations: win.s, pads };
  if (group !== 1) attrs.group = group;
  let z = g.conv(a, k, null, attrs);
  const zs = z.shape!.slice(2) as number[];
  if (zs.some((v, i) => v !== win.k[i])) z = g.slice(z, new Array<number>(n).fill(0), win.k, sp);
  return g.transpose(z, [1, 0, ...sp]);
}

/** Whether the backend runs this window's gradients as oneDNN kernels. */
const dnnlWindow = (profile: BackendProfile, win: Window, group: number): boolean =>
  dnnlTakes(profile, { kernel: win.k, group, dilations: win.d });

/**
 * dW of a correlation of `inp` over `win` giving `gout`: one oneDNN backward-weights kernel where the backend has it, else
 * the GEMM form where it applies, else the batch-axis Conv.
 */
function weightGrad(
  g: Builder,
  inp: Value,
  gout: Value,
  win: Window & { pads: number[] },
  group: number,
  inSp: readonly number[],
  profile: BackendProfile,
): Value {
  if (dnnlWindow(profile, win, group)) return g.one("ConvGradWeight", [inp, gout], { kernel_shape: win.k, strides: win.s, pads: win.pads });
  return gemmWeightGrad(g, inp, gout, win, group, inSp) ?? batchAxisWeightGrad(g, inp, gout, win, group, inSp);
}

/** Sum of the output gradient over every axis but channels. */
const biasGrad = (g: Builder, dy: Value): Value => g.reduceSum(dy, [0, ...range(2, dy.rank!)], false);

export const convOps: OpTable<"Conv" | "ConvTranspose" | "ConvGradWeight"> = {
  Conv: {
    attrs: CONV_SCHEMA,
    arity: [2, 3],
    infer: ({ node, inputs, freshDim }): ValueType[] => {
      const label = opLabel("Conv", node.name);
      const [x, w, b] = [inputs[0]!, inputs[1]!, inputs[2] ?? null];
      const group = node.attrs.group ?? 1;
      const ws = w.shape;
      const m = ws?.[0];
      const kernel = checkOperands(label, x, w, b, node.attrs, m);
      if (!kernel || !x.shape) return [{ dtype: x.dtype, shape: null }];
      const c = x.shape[1]!,
        wc = ws?.[1];
      if (typeof c === "number" && typeof wc === "number" && c !== wc * group) {
        throw new Error(
          `${label}: input ${formatShape(x.shape)} has ${c} channels, weight ${formatShape(ws)} × group ${group} needs ${wc * group}`,
        );
      }
      if (typeof m === "number" && m % group !== 0)
        throw new Error(`${label}: weight ${formatShape(ws)} has ${m} output channels, not divisible by group ${group}`);
      const win = forwardWindow(label, x.shape.slice(2), node.attrs, kernel, freshDim);
      return [{ dtype: x.dtype, shape: [x.shape[0]!, m ?? freshDim(), ...win.out] }];
    },
    grad: {
      kind: "vjp",
      // y = x ⋆ W + b  ⇒  dx = ConvTranspose(dy, W), dW = Σ_{n,p} dy[n,o,p]·x[n,c,p·s+k·d−pb], db = Σ_{n,p} dy
      vjp: ({ g, node, x, needs, profile }, [dy]) => {
        if (!dy) return [null, null, null];
        const [xv, w] = [x[0]!, x[1]!];
        const group = node.attrs.group ?? 1;
        const { win, xs } = geometry(node, xv, w);
        // stride 1: a Conv on flipped weights, also with oneDNN (its Winograd forward ran as fast as its backward-data,
        // 109 vs 113 ms of a ResNet-18 PGD step, and the flip is once per weights)
        return [
          needs[0] ? (flippedConv(g, dy, w, win, group) ?? adjointWindow(g, dy, w, win, group, xs)) : null,
          needs[1] ? weightGrad(g, xv, dy, win, group, xs, profile) : null,
          needs[2] ? biasGrad(g, dy) : null,
        ];
      },
    },
  },
  ConvTranspose: {
    attrs: { ...CONV_SCHEMA, output_padding: "ints", output_shape: "ints" },
    arity: [2, 3],
    infer: ({ node, inputs, freshDim }): ValueType[] => {
      const label = opLabel("ConvTranspose", node.name);
      const [x, w, b] = [inputs[0]!, inputs[1]!, inputs[2] ?? null];
      const group = node.attrs.group ?? 1;
      const ws = w.shape;
      const m: Dim | undefined = typeof ws?.[1] === "number" ? ws[1] * group : undefined;
      const kernel = checkOperands(label, x, w, b, node.attrs, m);
      if (!kernel || !x.shape) return [{ dtype: x.dtype, shape: null }];
      const c = x.shape[1]!,
        wc = ws?.[0];
      if (typeof c === "number" && typeof wc === "number" && c !== wc) {
        throw new Error(`${label}: input ${formatShape(x.shape)} has ${c} channels, weight ${formatShape(ws)} needs ${wc}`);
      }
      if (typeof c === "number" && c % group !== 0)
        throw new Error(`${label}: input ${formatShape(x.shape)} has ${c} channels, not divisible by group ${group}`);
      const win = transposeWindow(label, x.shape.slice(2), node.attrs, kernel, freshDim);
      return [{ dtype: x.dtype, shape: [x.shape[0]!, m ?? freshDim(), ...win.out] }];
    },
    grad: {
      kind: "vjp",
      // y = ConvTranspose(x, W) is the adjoint of z ↦ z ⋆ W  ⇒  dx = dy ⋆ W, dW = Σ_{n,p} x[n,c,p]·dy[n,m,p·s+k·d−pb], db = Σ dy
      vjp: ({ g, node, x, needs, profile }, [dy]) => {
        if (!dy) return [null, null, null];
        const [xv, w] = [x[0]!, x[1]!];
        const group = node.attrs.group ?? 1;
        const { win, xs } = geometry(node, xv, w);
        const ys = dy.shape!.slice(2) as number[];
        // seen from y-space: a forward window over ys whose outputs are x's positions
        const back: Window & { pads: number[] } = { ...win, out: xs };
        let dx: Value | null = null;
        if (needs[0]) {
          const cattrs: ConvAttrs = { strides: win.s, dilations: win.d, pads: win.pads };
          if (group !== 1) cattrs.group = group;
          // output_padding < stride, so the Conv's floor drops exactly the padded tail: x's size comes back
          dx = g.conv(dy, w, null, cattrs);
        }
        return [dx, needs[1] ? weightGrad(g, dy, xv, back, group, ys, profile) : null, needs[2] ? biasGrad(g, dy) : null];
      },
    },
  },
  ConvGradWeight: {
    attrs: { kernel_shape: "ints", strides: "ints", pads: "ints" },
    arity: [2, 2],
    // x [N, C, H, W] and dY [N, O, oh, ow] ⇒ dW [O, C, kh, kw]
    infer: ({ node, inputs }): ValueType[] => {
      const label = opLabel("ConvGradWeight", node.name);
      const [x, dy] = [inputs[0]!, inputs[1]!];
      if (x.shape?.length !== 4 || dy.shape?.length !== 4 || node.attrs.kernel_shape.length !== 2)
        throw new Error(`${label}: needs 4-D x and dY and a 2-D kernel_shape, got ${formatShape(x.shape)}, ${formatShape(dy.shape)}`);
      return [{ dtype: x.dtype, shape: [dy.shape[1]!, x.shape[1]!, ...node.attrs.kernel_shape] }];
    },
    grad: {
      kind: "error",
      why: "second derivatives through oneDNN's Conv weight gradient are not built; use the plain cpu backend (ROBUSTLENS_DNNL=0)",
    },
  },
};
