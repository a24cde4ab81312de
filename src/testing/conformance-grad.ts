// Finite-difference gradient checks over the ONNX backend test data: reverse mode vs central differences, float64 where
// onnxruntime has double kernels for the forward and gradient graphs, float32 otherwise.
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { importOnnx } from "../builder/onnx-import.js";
import { type ITensor, onnx, protoToTensor, tensorToProto } from "../builder/onnx-tensor.js";
import { Builder } from "../builder/builder.js";
import type { Graph, Value } from "../ir/graph.js";
import { type Tensor, isFloatDType, numberAt, tensor } from "../ir/tensor.js";
import { OPS, isSupportedOp } from "../ops/index.js";
import { Rng } from "../util/rng.js";
import { type Outcome, dataSet, runConformanceTest } from "./conformance.js";
import { type DirectionalResult, directionalDerivatives } from "./gradcheck.js";

/** pass: gradients agree; fail: they do not (or the gradient graph fails); inconclusive: the loss is not smooth within
 * the step (a kink or a domain edge: one-sided differences disagree and bracket the analytic value); skip: not a
 * gradient test (named reason); refused: grad() declines in one line (a VJP without that attribute form); crash: a
 * TypeError, RangeError or internal error. */
export type GradStatus = "pass" | "fail" | "refused" | "inconclusive" | "skip" | "crash";

export interface GradOutcome {
  status: GradStatus;
  detail?: string;
  /** The ONNX op types of the model (sorted, distinct). */
  ops: string[];
  precision?: "float64" | "float32";
  /** Why float64 was not used. */
  float32Because?: string;
  /** Largest |analytic − numeric| / max(|analytic|, |numeric|) over the checked inputs. */
  worstRelErr?: number;
  checks?: (DirectionalResult & { verdict: Verdict })[];
  /** The float inputs differentiated. */
  wrt?: string[];
  /** The refusal with the test's integer operands fed at run time (the check then holds them constant). */
  runTimeOperands?: string;
}

type Verdict = "pass" | "fail" | "inconclusive";

/**
 * Tolerances. float64: ε = 1e-6, rtol 1e-6 (truncation ε²·f‴/6 ≈ 1e-13, rounding 2e-16·S/ε ≈ 1e-10·S).
 * float32: ε = 1e-2, rtol 2e-2 (truncation ≈ 2e-5 relative; rounding 1.2e-7·S/ε ≈ 1e-5·S, S = Σ|u·y|; JAX's float32
 * checks allow 1.5e-1). Both add an absolute floor of 10·macheps·S/ε for the loss's own rounding; a step that fails is
 * retried at ε/10 (inputs within ε of a kink or a domain edge).
 */
export const GRAD_TOLERANCES = {
  float64: { eps: 1e-6, rtol: 1e-6, macheps: 2.2e-16 },
  float32: { eps: 1e-2, rtol: 2e-2, macheps: 1.2e-7 },
} as const;

const decodeModel = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes);

/** The model with every float32 tensor (initializers, attribute tensors), value type and Cast target made float64. */
export function toFloat64Model(bytes: Uint8Array): Uint8Array {
  const m = decodeModel(bytes);
  const g = m.graph!;
  const conv = (t: ITensor): ITensor => {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) return t;
    const f = protoToTensor(t, "float64 copy");
    return tensorToProto(tensor("float64", f.shape, Float64Array.from(f.data as Float32Array)), t.name ?? "");
  };
  g.initializer = (g.initializer ?? []).map(conv);
  for (const vi of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
    const tt = vi.type?.tensorType;
    if (tt && tt.elemType === onnx.TensorProto.DataType.FLOAT) tt.elemType = onnx.TensorProto.DataType.DOUBLE;
  }
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.t) a.t = conv(a.t);
      if (n.opType === "Cast" && a.name === "to" && Number(a.i) === onnx.TensorProto.DataType.FLOAT) a.i = onnx.TensorProto.DataType.DOUBLE;
    }
  }
  return onnx.ModelProto.encode(m).finish();
}

const asFloat64 = (t: Tensor): Tensor =>
  t.dtype === "float32" ? tensor("float64", t.shape, Float64Array.from(t.data as Float32Array)) : t;

/** Which float graph inputs reach a float output through ops with a VJP, and why the others do not. */
function gradientPaths(graph: Graph): { wrt: string[]; excluded: string[]; refused: string[]; blocked: Set<string> } {
  const wrt: string[] = [],
    excluded: string[] = [],
    refused = new Set<string>(),
    blocked = new Set<string>();
  for (const x of graph.inputs.filter((v) => isFloatDType(v.dtype))) {
    const live = new Set<Value>([x]);
    const stopped: string[] = [];
    const errs: string[] = [];
    for (const n of graph.nodes) {
      if (!n.inputs.some((v) => v && live.has(v))) continue;
      const def = OPS[n.op];
      const stop = def.stopGradient ?? [];
      n.inputs.forEach((v, i) => {
        if (v && live.has(v) && stop.includes(i)) stopped.push(`${n.op} input ${i}`);
      });
      const diff = n.inputs.some((v, i) => v && live.has(v) && isFloatDType(v.dtype) && !stop.includes(i));
      if (!diff) continue;
      if (def.grad.kind === "none") {
        blocked.add(n.op);
        continue;
      }
      if (def.grad.kind === "error") errs.push(`${n.op}: ${def.grad.why}`);
      for (const o of n.outputs) if (isFloatDType(o.dtype)) live.add(o);
    }
    const reaches = graph.outputs.some((o) => live.has(o) && isFloatDType(o.dtype));
    if (!reaches) continue;
    if (errs.length) errs.forEach((e) => refused.add(e));
    else if (stopped.length) excluded.push(`"${x.name}" (also feeds ${[...new Set(stopped)].join(", ")}, not differentiated by design)`);
    else wrt.push(x.name);
  }
  return { wrt, excluded, refused: [...refused], blocked };
}

function verdict(r: DirectionalResult, tol: { rtol: number; macheps: number }, scale: number): Verdict {
  const noise = (10 * tol.macheps * scale) / r.eps;
  const bound = (a: number, b: number) => tol.rtol * Math.max(Math.abs(a), Math.abs(b)) + noise;
  // an infinite or undefined slope with an undefined difference quotient: a domain edge (acosh at 1), not a wrong rule
  if (!Number.isFinite(r.analytic)) return Number.isFinite(r.numeric) ? "fail" : "inconclusive";
  if (Math.abs(r.analytic - r.numeric) <= bound(r.analytic, r.numeric)) return "pass";
  // not smooth within ε (a kink or a domain edge): the one-sided slopes disagree and a subgradient lies between them
  const lo = Math.min(r.forward, r.backward),
    hi = Math.max(r.forward, r.backward),
    t = bound(lo, hi);
  if (!Number.isFinite(r.numeric) || (hi - lo > t && r.analytic >= lo - t && r.analytic <= hi + t)) return "inconclusive";
  return "fail";
}

const crashy = (e: unknown): boolean => {
  const msg = String((e as Error)?.message ?? e);
  return !(e instanceof Error) || e instanceof TypeError || e instanceof RangeError || msg.startsWith("internal:");
};
const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split("\n")[0]!;

/** Imports `bytes` with static input shapes and adds loss = Σ_k Σ u_k ⊙ y_k over the float outputs (u_k ~ N(0, 1), seeded). */
function lossGraph(
  bytes: Uint8Array,
  source: string,
  inputs: readonly Tensor[],
  refs: readonly Tensor[],
): { graph: Graph; loss: Value } | string {
  const first = importOnnx(bytes, { source });
  const graph = importOnnx(bytes, {
    source,
    inputShapes: Object.fromEntries(first.inputs.map((v, i) => [v.name, inputs[i]?.shape ?? []])),
  });
  const rng = new Rng(20240917);
  const g = new Builder(graph);
  const terms: Value[] = [];
  for (const [i, y] of graph.outputs.entries()) {
    if (!isFloatDType(y.dtype)) continue;
    // shapes that depend on input values (axes fed at run time) are the reference's
    const s = y.staticShape ?? refs[i]?.shape;
    if (!s || (y.rank !== undefined && y.rank !== s.length)) return `output ${y} has no static shape`;
    const u = tensor(
      y.dtype,
      s,
      Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    );
    terms.push(g.reduceSum(g.mul(y, g.constant(u, `${y.name}_weights`)), [], false));
  }
  if (!terms.length) return `no float output (outputs: ${graph.outputs.map((o) => o.dtype).join(", ")})`;
  const loss = terms.reduce((a, b) => g.addv(a, b));
  graph.outputs = [loss];
  return { graph, loss };
}

async function check(
  graph: Graph,
  loss: Value,
  feeds: Record<string, Tensor>,
  wrt: readonly string[],
  precision: "float64" | "float32",
  scale: number,
) {
  const tol = GRAD_TOLERANCES[precision];
  const out: (DirectionalResult & { verdict: Verdict })[] = [];
  for (const k of wrt) {
    let best: DirectionalResult & { verdict: Verdict };
    let eps = tol.eps;
    for (let attempt = 0; ; attempt++) {
      const [r] = await directionalDerivatives({ graph, loss, inputs: feeds, wrt: [k], rng: new Rng(4242 + wrt.indexOf(k)), eps });
      best = { ...r!, verdict: verdict(r!, tol, scale) };
      if (best.verdict === "pass" || attempt === 1) break;
      eps /= 10;
    }
    out.push(best);
  }
  return out;
}

const relErr = (r: DirectionalResult) =>
  r.analytic === r.numeric ? 0 : Math.abs(r.analytic - r.numeric) / Math.max(Math.abs(r.analytic), Math.abs(r.numeric), 1e-30);

/** Gradient-checks one backend test directory whose forward test passes (`forward` saves running it again). */
export async function runGradTest(dir: string, forward?: Outcome): Promise<GradOutcome> {
  const bytes = new Uint8Array(readFileSync(join(dir, "model.onnx")));
  const ops = [...new Set((decodeModel(bytes).graph?.node ?? []).map((n) => n.opType ?? "?"))].sort();
  const fwd = forward ?? (await runConformanceTest(dir));
  if (fwd.status !== "pass") return { status: "skip", detail: `forward ${fwd.status}`, ops };
  const data = dataSet(dir)!;
  if (!data.inputs.some((t) => isFloatDType(t.dtype))) return { status: "skip", detail: "no float input", ops };
  const r = await checkModel(bytes, dir, data.inputs, data.outputs, ops);
  if (r.status !== "refused" || !r.wrt) return r;
  // operands fed at run time that exported models hold as constants (test_slice's starts, test_tile's repeats): the
  // refusal is recorded and the check redone with every non-differentiated input as an initializer
  const names = importOnnx(bytes, { source: dir }).inputs.map((v) => v.name);
  const fixed = names.map((n, i) => (r.wrt!.includes(n) ? undefined : i)).filter((i): i is number => i !== undefined);
  if (!fixed.length) return r;
  const m = decodeModel(bytes);
  const g = m.graph!;
  for (const i of fixed) g.initializer = [...(g.initializer ?? []), tensorToProto(data.inputs[i]!, names[i]!)];
  g.input = (g.input ?? []).filter((v) => !fixed.some((i) => names[i] === v.name));
  const keep = data.inputs.filter((_, i) => !fixed.includes(i));
  const again = await checkModel(onnx.ModelProto.encode(m).finish(), dir, keep, data.outputs, ops);
  return { ...again, runTimeOperands: r.detail };
}

async function checkModel(
  bytes: Uint8Array,
  dir: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  ops: string[],
): Promise<GradOutcome> {
  const data = { inputs, outputs };
  const nonDiff = ops.filter((o) => isSupportedOp(o) && OPS[o].grad.kind === "none");
  let wrt: string[] | undefined;
  try {
    const f32 = lossGraph(bytes, dir, data.inputs, data.outputs);
    if (typeof f32 === "string") return { status: "skip", detail: f32, ops };
    const paths = gradientPaths(f32.graph);
    wrt = paths.wrt;
    if (paths.refused.length) return { status: "skip", detail: `refuses gradients: ${paths.refused.join("; ")}`, ops };
    if (!paths.wrt.length) {
      const why = paths.excluded.length
        ? `every float input is excluded: ${paths.excluded.join("; ")}`
        : paths.blocked.size || nonDiff.length
          ? `no gradient path: ${[...new Set([...paths.blocked, ...nonDiff])].join(", ")} piecewise constant or integer-valued`
          : "the float outputs do not depend on the float inputs";
      return { status: "skip", detail: why, ops };
    }
    const ref = referenceLoss(data.outputs);
    const scale = Number.isFinite(ref.scale) ? ref.scale : 0;
    const byName = (g: Graph, ins: readonly Tensor[]) => Object.fromEntries(g.inputs.map((v, i) => [v.name, ins[i]!]));
    let checks: GradOutcome["checks"];
    let precision: "float64" | "float32" = "float64";
    let float32Because: string | undefined;
    try {
      const ins64 = data.inputs.map(asFloat64);
      const f64 = lossGraph(toFloat64Model(bytes), dir, ins64, data.outputs);
      if (typeof f64 === "string") throw new Error(f64);
      checks = await check(f64.graph, f64.loss, byName(f64.graph, ins64), paths.wrt, "float64", scale);
      // the float64 model must compute the same function as the reference (within the forward test's tolerance)
      const centre = checks[0]!.centre;
      if (!(Math.abs(centre - ref.loss) <= 1e-3 * scale + 1e-5)) throw new Error(`float64 loss ${centre} differs from the reference's`);
    } catch (e) {
      // no double kernel in onnxruntime (Conv, ConvTranspose, …) or no float64 form: the float32 check stands alone
      precision = "float32";
      float32Because = firstLine(e).slice(0, 200);
      checks = await check(f32.graph, f32.loss, byName(f32.graph, data.inputs), paths.wrt, "float32", scale);
    }
    if (!Number.isFinite(checks[0]!.centre))
      return { status: "skip", detail: "the loss is not finite at the test's inputs (outside the op's domain)", ops };
    const worstRelErr = Math.max(...checks.map(relErr));
    const failed = checks.filter((c) => c.verdict === "fail");
    const status: GradStatus = failed.length ? "fail" : checks.some((c) => c.verdict === "inconclusive") ? "inconclusive" : "pass";
    const detail = failed.length
      ? failed
          .map(
            (c) =>
              `input "${c.input}": analytic ${c.analytic} vs numeric ${c.numeric} (rel err ${relErr(c).toExponential(2)}, ${precision})`,
          )
          .join("; ")
      : paths.excluded.length
        ? `not differentiated: ${paths.excluded.join("; ")}`
        : undefined;
    return {
      status,
      ...(detail ? { detail } : {}),
      ops,
      wrt,
      precision,
      ...(float32Because ? { float32Because } : {}),
      worstRelErr,
      checks,
    };
  } catch (e) {
    const status = crashy(e) ? "crash" : /^grad: cannot differentiate/.test(firstLine(e)) ? "refused" : "fail";
    return { status, detail: `gradient: ${firstLine(e)}`, ops, ...(wrt ? { wrt } : {}) };
  }
}

/** The loss Σ u·y of the reference outputs (same weights as lossGraph) and Σ|u·y|, the scale of its rounding error. */
function referenceLoss(outputs: readonly Tensor[]): { loss: number; scale: number } {
  const rng = new Rng(20240917);
  let loss = 0,
    scale = 0;
  for (const y of outputs) {
    if (!isFloatDType(y.dtype)) continue;
    for (let i = 0; i < y.data.length; i++) {
      const t = rng.normal() * numberAt(y, i);
      loss += t;
      scale += Math.abs(t);
    }
  }
  return { loss, scale };
}

export interface GradSummaryRow {
  checked: number;
  passed: number;
  failed: number;
  inconclusive: number;
  refused: number;
  crashed: number;
  /** Checked with run-time integer operands made constants (their refusal in runTimeOperands). */
  constantOperands: number;
  skipped: number;
  worstRelErr: number;
  errors: string[];
}

export const emptyRow = (): GradSummaryRow => ({
  checked: 0,
  passed: 0,
  failed: 0,
  inconclusive: 0,
  refused: 0,
  crashed: 0,
  constantOperands: 0,
  skipped: 0,
  worstRelErr: 0,
  errors: [],
});

/** Adds one outcome to a summary row (by suite or by op). */
export function tally(row: GradSummaryRow, name: string, r: GradOutcome): void {
  if (r.status === "skip") {
    row.skipped++;
    return;
  }
  row.checked++;
  if (r.runTimeOperands) row.constantOperands++;
  if (r.status === "pass") row.passed++;
  else if (r.status === "fail") row.failed++;
  else if (r.status === "inconclusive") row.inconclusive++;
  else if (r.status === "refused") row.refused++;
  else row.crashed++;
  if (r.worstRelErr !== undefined && r.status !== "inconclusive") row.worstRelErr = Math.max(row.worstRelErr, r.worstRelErr);
  if (r.status === "fail" || r.status === "crash" || r.status === "refused") row.errors.push(`${name}: ${r.detail}`);
}

/** Name of a test directory as "suite/test". */
export const testName = (dir: string): string => `${basename(dirname(dir))}/${basename(dir)}`;
