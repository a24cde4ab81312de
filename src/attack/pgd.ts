// PGD (and FGSM as its 1-step L∞ case): steps, random start, restarts, keep best or last, any per-example loss.
import { type Tensor, tensor } from "../ir/tensor.js";
import type { Executor } from "../runtime/executor.js";
import { Rng } from "../util/rng.js";
import type { AttackLoss } from "./losses.js";
import { type AttackPrograms, type AttackTarget, compileAttack } from "./program.js";
import { type ThreatModel, type ThreatSpec, threatModel } from "./threat.js";

export interface PgdOptions {
  threat: ThreatSpec;
  loss: AttackLoss;
  steps: number;
  /** Step size α; default 2.5·ε/steps (the robustness library's rule of thumb); required for unconstrained. */
  stepSize?: number;
  randomStart?: boolean;
  /** Independent runs; per example the first successful one is kept (else the highest objective). Default 1. */
  restarts?: number;
  /** Return the best iterate per example (objective evaluated before each step and after the last) or the last. */
  keep?: "best" | "last";
  seed?: number;
  /** Nodes whose gradient passes straight through (fake ReLU), by name. */
  straightThrough?: string[];
  /** After each step; `loss` is the per-example loss at the iterate that step started from. */
  onStep?: (done: number, total: number, loss: Float32Array) => void;
  /** Programs compiled earlier by compileAttack for this target, batch size, loss structure and threat (reused, not disposed). */
  programs?: AttackPrograms;
  /** Extra or replacing feeds for every call (e.g. current weights, this batch's labels). */
  feeds?: Record<string, Tensor>;
}

export interface AttackResult {
  x: Tensor<"float32">;
  /** The loss (not the oriented objective) per example at the result. */
  loss: Float32Array;
  logits: Tensor;
  /** Per example, whether the loss's aim was reached (when the loss defines it). */
  success?: boolean[];
}

export function defaultStepSize(spec: ThreatSpec, steps: number): number {
  if (spec.kind === "unconstrained") throw new Error("unconstrained attacks need an explicit step size");
  return (2.5 * spec.eps) / steps;
}

export function checkPgdOptions(o: PgdOptions): void {
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`steps must be a positive integer, got ${o.steps}`);
  if (o.stepSize !== undefined && !(o.stepSize > 0 && Number.isFinite(o.stepSize))) throw new Error(`step size must be positive, got ${o.stepSize}`);
  if (o.restarts !== undefined && (!Number.isInteger(o.restarts) || o.restarts < 1)) throw new Error(`restarts must be a positive integer, got ${o.restarts}`);
  if (o.keep !== undefined && o.keep !== "best" && o.keep !== "last") throw new Error(`keep must be "best" or "last", got "${o.keep}"`);
}

const perExample = (n: number, v: number, shapeRank: number) => tensor("float32", [n, ...Array(shapeRank - 1).fill(1)], new Float32Array(n).fill(v));

/** One PGD run from `start`; returns the kept iterate and its objective and logits. */
async function run(p: AttackPrograms, model: AttackTarget, x0: Tensor<"float32">, start: Tensor<"float32">, o: PgdOptions, alpha: number, tick: (obj: Float32Array) => void) {
  const n = x0.shape[0]!;
  let x = start;
  let bestX = start;
  let bestObj = tensor("float32", [n], new Float32Array(n).fill(-Infinity));
  const a = perExample(n, alpha, x0.shape.length);
  for (let k = 0; k < o.steps; k++) {
    const out = await p.step.run({ ...p.feeds, ...o.feeds, [model.inputName]: x, x0, best_x: bestX, best_obj: bestObj, alpha: a });
    x = out[p.names.xNext] as Tensor<"float32">;
    bestX = out[p.names.bestX] as Tensor<"float32">;
    bestObj = out[p.names.bestObj] as Tensor<"float32">;
    tick(out[p.names.obj]!.data as Float32Array);
  }
  const last = await p.evaluate.run({ ...p.feeds, ...o.feeds, [model.inputName]: x });
  if (o.keep !== "best") return { x, obj: last[p.names.obj]!.data as Float32Array, logits: last[p.names.logits]! };
  // the iterate after the last step competes too
  const lastObj = last[p.names.obj]!.data as Float32Array;
  const per = x.data.length / n;
  const chosen = new Float32Array(x.data.length);
  for (let i = 0; i < n; i++) {
    const src = lastObj[i]! > (bestObj.data[i] as number) ? x.data : bestX.data;
    chosen.set(src.subarray(i * per, (i + 1) * per), i * per);
  }
  const xb = tensor("float32", x.shape, chosen) as Tensor<"float32">;
  const ev = await p.evaluate.run({ ...p.feeds, ...o.feeds, [model.inputName]: xb });
  return { x: xb, obj: ev[p.names.obj]!.data as Float32Array, logits: ev[p.names.logits]! };
}

/** Projected gradient descent/ascent on a per-example loss; nothing depends on the batch size. */
export async function pgd(exec: Executor, model: AttackTarget, x0: Tensor<"float32">, o: PgdOptions): Promise<AttackResult> {
  checkPgdOptions(o);
  const n = model.checkInput(x0);
  const threat: ThreatModel = threatModel(o.threat);
  const alpha = o.stepSize ?? defaultStepSize(o.threat, o.steps);
  const restarts = o.restarts ?? 1;
  const rng = new Rng(o.seed ?? 0);
  const p = o.programs ?? await compileAttack(exec, model, n, o.loss, threat, { straightThrough: o.straightThrough });
  let done = 0;
  const sign = o.loss.goal === "max" ? 1 : -1;
  const tick = (obj: Float32Array) => o.onStep?.(++done, o.steps * restarts, obj.map((v) => sign * v));
  try {
    let best: { x: Tensor<"float32">; obj: Float32Array; logits: Tensor; success?: boolean[] } | undefined;
    for (let r = 0; r < restarts; r++) {
      const start = o.randomStart ? threat.randomStart(x0, rng) : x0;
      const res = await run(p, model, x0, start, o, alpha, tick);
      const success = o.loss.success?.(res.logits);
      best = best ? merge(best, { ...res, success }, n) : { ...res, success };
      if (best.success?.every(Boolean)) break;
    }
    return { x: best!.x, loss: best!.obj.map((v) => sign * v), logits: best!.logits, success: best!.success };
  } finally {
    if (!o.programs) await p.dispose();
  }
}

type Run = { x: Tensor<"float32">; obj: Float32Array; logits: Tensor; success?: boolean[] };

/** Per example: keep a successful run (the earlier one), else the higher objective. */
function merge(a: Run, b: Run, n: number): Run {
  const per = a.x.data.length / n, c = a.logits.shape[1]!;
  const x = Float32Array.from(a.x.data), obj = Float32Array.from(a.obj), logits = Float32Array.from(a.logits.data as Float32Array);
  const success = a.success ? [...a.success] : undefined;
  for (let i = 0; i < n; i++) {
    const takeB = a.success && b.success ? !a.success[i] && (b.success[i] || b.obj[i]! > a.obj[i]!) : b.obj[i]! > a.obj[i]!;
    if (!takeB) continue;
    x.set(b.x.data.subarray(i * per, (i + 1) * per), i * per);
    logits.set((b.logits.data as Float32Array).subarray(i * c, (i + 1) * c), i * c);
    obj[i] = b.obj[i]!;
    if (success) success[i] = b.success![i]!;
  }
  return { x: tensor("float32", a.x.shape, x) as Tensor<"float32">, obj, logits: tensor("float32", a.logits.shape, logits), success };
}

/** FGSM: one L∞ step of size ε from the clean input. */
export function fgsm(exec: Executor, model: AttackTarget, x0: Tensor<"float32">, o: { eps: number; loss: AttackLoss }): Promise<AttackResult> {
  return pgd(exec, model, x0, { threat: { kind: "linf", eps: o.eps }, loss: o.loss, steps: 1, stepSize: o.eps, keep: "last" });
}
