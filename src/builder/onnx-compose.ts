// ONNX ops newer than our opset 17 (Gelu 20, Mish 18, GroupNormalization 18/21) or defined as functions (MeanVarianceNormalization):
// imported as compositions of opset-17 ops, whose VJPs then give the gradient.
import type { Builder } from "./builder.js";
import type { Value } from "../ir/graph.js";

export interface ComposeCtx {
  b: Builder;
  inputs: (Value | null)[];
  attrs: Record<string, unknown>;
  label: string;
  opset: number;
}

type Compose = (c: ComposeCtx) => Value[];

const num = (c: ComposeCtx, k: string, dflt: number): number => {
  const v = c.attrs[k];
  if (v === undefined) return dflt;
  if (typeof v !== "number") throw new Error(`${c.label}: attribute "${k}" should be a number`);
  return v;
};

function only(c: ComposeCtx, allowed: readonly string[]): void {
  for (const k of Object.keys(c.attrs))
    if (!allowed.includes(k)) throw new Error(`${c.label}: attribute "${k}" is not supported (takes: ${allowed.join(", ") || "none"})`);
}

export const COMPOSED_OPS: Readonly<Record<string, Compose>> = {
  // gelu(x) = x/2 (1 + erf(x/√2));  approximate="tanh": x/2 (1 + tanh(√(2/π) (x + 0.044715 x³)))
  Gelu: (c) => {
    only(c, ["approximate"]);
    const { b } = c,
      x = c.inputs[0]!;
    const s = (v: number) => b.scalarLike(v, x);
    const approx = (c.attrs["approximate"] as string | undefined) ?? "none";
    let inner: Value;
    if (approx === "none") inner = b.one("Erf", [b.mul(x, s(Math.SQRT1_2))], {});
    else if (approx === "tanh")
      inner = b.one("Tanh", [b.mul(b.addv(x, b.mul(b.mul(b.mul(x, x), x), s(0.044715))), s(Math.sqrt(2 / Math.PI)))], {});
    else throw new Error(`${c.label}: approximate "${approx}" is not supported (none, tanh)`);
    return [b.mul(b.mul(x, s(0.5)), b.addv(inner, s(1)))];
  },
  // mish(x) = x tanh(softplus(x))
  Mish: (c) => {
    only(c, []);
    const x = c.inputs[0]!;
    return [c.b.mul(x, c.b.one("Tanh", [c.b.one("Softplus", [x], {})], {}))];
  },
  // mvn(x) = (x − E[x]) / (√(E[x²] − E[x]²) + 1e-9) over `axes` (default N, H, W), as ONNX's function body defines it
  MeanVarianceNormalization: (c) => {
    only(c, ["axes"]);
    const { b } = c,
      x = c.inputs[0]!;
    const axes = (c.attrs["axes"] as number[] | undefined) ?? [0, 2, 3];
    const mean = b.reduceMean(x, axes, true);
    const variance = b.sub(b.reduceMean(b.mul(x, x), axes, true), b.mul(mean, mean));
    return [b.div(b.sub(x, mean), b.addv(b.sqrt(variance), b.scalarLike(1e-9, x)))];
  },
  // y = xhat * scale + bias, xhat over each group of C/G channels and the spatial axes;
  // scale and bias are per group at opset 18–20 and per channel from opset 21
  GroupNormalization: (c) => {
    only(c, ["epsilon", "num_groups", "stash_type"]);
    const { b } = c;
    const [x, scale, bias] = c.inputs as Value[];
    const groups = num(c, "num_groups", NaN);
    if (!Number.isInteger(groups) || groups < 1) throw new Error(`${c.label}: num_groups must be a positive integer`);
    if (x!.rank === undefined || x!.rank < 3) throw new Error(`${c.label}: input ${x} needs a known rank >= 3`);
    const r = x!.rank;
    const ch = x!.shape![1];
    if (typeof ch === "number" && ch % groups !== 0) throw new Error(`${c.label}: ${ch} channels do not divide into ${groups} groups`);
    const eps = b.scalarLike(num(c, "epsilon", 1e-5), x!);
    const grouped = b.reshape(x!, [0, groups, -1]);
    const xc = b.sub(grouped, b.reduceMean(grouped, [2], true));
    const xhat = b.div(xc, b.sqrt(b.addv(b.reduceMean(b.mul(xc, xc), [2], true), eps)));
    const spatial = new Array<number>(r - 2).fill(1);
    if (c.opset < 21) {
      const y = b.addv(b.mul(xhat, b.reshape(scale!, [1, groups, 1])), b.reshape(bias!, [1, groups, 1]));
      return [b.reshape(y, b.shapeOf(x!))];
    }
    const back = b.reshape(xhat, b.shapeOf(x!));
    return [b.addv(b.mul(back, b.reshape(scale!, [1, -1, ...spatial])), b.reshape(bias!, [1, -1, ...spatial]))];
  },
};
