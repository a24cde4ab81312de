// Sliding-window arithmetic shared by Conv, ConvTranspose and the pools: defaults, explicit pads, output sizes.
import type { Dim } from "../ir/graph.js";
import { formatShape } from "../ir/tensor.js";
import type { AutoPad } from "./attrs.js";

export interface WindowAttrs {
  auto_pad?: AutoPad;
  dilations?: number[];
  kernel_shape?: number[];
  pads?: number[];
  strides?: number[];
  ceil_mode?: number;
  output_padding?: number[];
  output_shape?: number[];
}

/** A window op's resolved geometry: kernel, strides, dilations, explicit pads (begins then ends) and output sizes. */
export interface Window {
  k: number[];
  s: number[];
  d: number[];
  /** null when auto_pad SAME meets a symbolic spatial size (pads unknown until run time). */
  pads: number[] | null;
  out: Dim[];
  /** ConvTranspose only: output_padding. */
  op: number[];
}

/** An attribute list with one entry per spatial dimension (or its default); a wrong length is an error. */
export function perDim(label: string, name: string, v: readonly number[] | undefined, n: number, dflt: number): number[] {
  if (v === undefined) return new Array<number>(n).fill(dflt);
  if (v.length !== n)
    throw new Error(`${label}: ${name} ${formatShape(v)} has ${v.length} entries, expected ${n} (one per spatial dimension)`);
  return [...v];
}

const eff = (k: number, d: number) => (k - 1) * d + 1;

function explicitPads(label: string, a: WindowAttrs, n: number): number[] {
  const p = a.pads === undefined ? new Array<number>(2 * n).fill(0) : [...a.pads];
  if (p.length !== 2 * n) throw new Error(`${label}: pads ${formatShape(p)} has ${p.length} entries, expected ${2 * n}`);
  if (p.some((v) => v < 0)) throw new Error(`${label}: negative pads ${formatShape(p)} are not supported`);
  return p;
}

function common(label: string, a: WindowAttrs, kernel: readonly number[], n: number) {
  const k = [...kernel];
  if (k.length !== n) throw new Error(`${label}: kernel ${formatShape(k)} has ${k.length} spatial dims, input has ${n}`);
  const s = perDim(label, "strides", a.strides, n, 1);
  const d = perDim(label, "dilations", a.dilations, n, 1);
  if ([...k, ...s, ...d].some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(
      `${label}: kernel ${formatShape(k)}, strides ${formatShape(s)} and dilations ${formatShape(d)} must be positive integers`,
    );
  }
  return { k, s, d, autoPad: a.auto_pad ?? "NOTSET" };
}

/** Geometry of a forward window (Conv, MaxPool, AveragePool), per ONNX and ORT: SAME pads (lower gets the odd one for SAME_LOWER), ceil_mode. */
export function forwardWindow(
  label: string,
  spatial: readonly Dim[],
  a: WindowAttrs,
  kernel: readonly number[],
  freshDim: () => string,
): Window {
  const n = spatial.length;
  const { k, s, d, autoPad } = common(label, a, kernel, n);
  const ceil = (a.ceil_mode ?? 0) !== 0;
  let pads: number[] | null = autoPad === "NOTSET" ? explicitPads(label, a, n) : new Array<number>(2 * n).fill(0);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = spatial[i]!,
      e = eff(k[i]!, d[i]!);
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      if (typeof x !== "number") {
        pads = null;
        out.push(s[i] === 1 ? x : freshDim());
        continue;
      }
      const o = Math.ceil(x / s[i]!);
      // ORT's rule; k < s can ask for negative padding, which changes no output size when clamped
      const total = Math.max(0, (o - 1) * s[i]! + e - x);
      const small = Math.floor(total / 2);
      if (pads) {
        pads[i] = autoPad === "SAME_UPPER" ? small : total - small;
        pads[i + n] = total - pads[i]!;
      }
      out.push(o);
      continue;
    }
    const pb = pads ? pads[i]! : 0,
      pe = pads ? pads[i + n]! : 0;
    if (typeof x !== "number") {
      out.push(s[i] === 1 && pb + pe === e - 1 ? x : freshDim());
      continue;
    }
    const span = x + pb + pe - e;
    if (span < 0) {
      throw new Error(`${label}: window ${k[i]} (dilation ${d[i]}) is larger than spatial dim ${i} of size ${x} padded by ${pb}+${pe}`);
    }
    let o = (ceil ? Math.ceil(span / s[i]!) : Math.floor(span / s[i]!)) + 1;
    // ceil mode drops a last window starting in the end padding, as PyTorch and ORT's kernels do (ORT's static shape inference keeps it)
    if (ceil && (o - 1) * s[i]! >= x + pb) o--;
    out.push(o);
  }
  return { k, s, d, pads, out, op: new Array<number>(n).fill(0) };
}

/**
 * ConvTranspose pads [begin, end] giving output size `want` from the natural size (ONNX: total = natural − want, begin =
 * total − ⌊total/2⌋, or ⌊total/2⌋ for SAME_UPPER, floor as in the reference); negative when `want` is larger.
 */
export function outputShapePads(natural: number, want: number, autoPad: AutoPad | undefined): [number, number] {
  const total = natural - want,
    half = Math.floor(total / 2);
  const begin = autoPad === "SAME_UPPER" ? half : total - half;
  return [begin, total - begin];
}

/** Natural ConvTranspose output size before pads: stride·(in − 1) + output_padding + (k − 1)·dilation + 1. */
export const transposeNatural = (x: number, k: number, s: number, d: number, op: number): number => s * (x - 1) + op + eff(k, d);

/** Geometry of ConvTranspose: output_shape (pads derived, extra at the begin unless SAME_UPPER), auto_pad, output_padding. */
export function transposeWindow(
  label: string,
  spatial: readonly Dim[],
  a: WindowAttrs,
  kernel: readonly number[],
  freshDim: () => string,
): Window {
  const n = spatial.length;
  const { k, s, d, autoPad } = common(label, a, kernel, n);
  const op = perDim(label, "output_padding", a.output_padding, n, 0);
  // the spec allows output_padding < max(stride, dilation), but ORT's kernel fails once it reaches the stride
  for (let i = 0; i < n; i++) {
    if (op[i]! < 0 || op[i]! >= s[i]!)
      throw new Error(`${label}: output_padding ${formatShape(op)} must be in [0, stride) per dimension (strides ${formatShape(s)})`);
  }
  const target = a.output_shape;
  // ONNX shape inference (run by ORT) rejects an output_shape that also lists N and C
  if (target && target.length !== n)
    throw new Error(`${label}: output_shape ${formatShape(target)} must have ${n} entries (spatial dims only)`);
  const same = autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER";
  let pads: number[] | null = target || same || autoPad === "VALID" ? new Array<number>(2 * n).fill(0) : explicitPads(label, a, n);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = spatial[i]!,
      e = eff(k[i]!, d[i]!);
    if (target || same) {
      // total padding = natural size − requested size; SAME asks for in·stride, whatever in is
      const want: Dim = target ? target[i]! : typeof x === "number" ? x * s[i]! : s[i] === 1 ? x : freshDim();
      // SAME's total, natural − in·stride, does not depend on in
      const natural = target ? (typeof x === "number" ? transposeNatural(x, k[i]!, s[i]!, d[i]!, op[i]!) : NaN) : op[i]! + e;
      const requested = target ? target[i]! : s[i]!;
      if (Number.isNaN(natural)) pads = null;
      else if (natural < requested) {
        // the importer rewrites such nodes as ConvTranspose + Pad (builder/onnx-convtranspose.ts); ORT's kernel clamps these pads to 0
        throw new Error(
          target
            ? `${label}: output_shape ${formatShape(target)} exceeds the natural output ${natural} of input size ${x}; give pads and a Pad after it`
            : `${label}: auto_pad ${autoPad} needs kernel ${formatShape(k)} (dilations ${formatShape(d)}) plus output_padding to cover strides ${formatShape(s)}`,
        );
      } else if (pads) [pads[i], pads[i + n]] = outputShapePads(natural, requested, autoPad);
      out.push(want);
      continue;
    }
    const extra = op[i]! + e - pads![i]! - pads![i + n]!;
    if (typeof x !== "number") {
      out.push(s[i] === 1 && extra === 1 ? x : freshDim());
      continue;
    }
    const o = s[i]! * (x - 1) + extra;
    if (o < 1) throw new Error(`${label}: pads ${formatShape(pads!)} crop spatial dim ${i} (input ${x}) to ${o}`);
    out.push(o);
  }
  return { k, s, d, pads, out, op };
}

/** Number of positions of window [start, start+len) that lie in [lo, hi). */
export const overlap = (start: number, len: number, lo: number, hi: number): number =>
  Math.max(0, Math.min(start + len, hi) - Math.max(start, lo));
