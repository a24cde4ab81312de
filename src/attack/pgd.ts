// PGD (and FGSM as its 1-step L∞ case): steps, random start, restarts, keep best or last, any per-example loss.
import { type Tensor, tensor } from "../ir/tensor.js";
import { type Runner, type Session, withSession } from "../runtime/session.js";
import type { AttackLoss } from "./losses.js";
import { type AttackPrograms, type AttackTarget, attackPrograms } from "./program.js";
import { type AttackResult, type OnStep, type Run, bestOfRestarts, checkAbort, exampleNoise } from "./runs.js";
import { type ThreatModel, type ThreatSpec, defaultStepSize, threatModel } from "./threat.js";

export interface PgdOptions {
  /** A named threat ({ kind: "l2", eps }) or a ThreatModel of your own. */
  threat: ThreatSpec | ThreatModel;
  loss: AttackLoss;
  steps: number;
  /** Step size α; default the threat's rule (2.5·ε/steps); required for unconstrained. */
  stepSize?: number;
  randomStart?: boolean;
  /** Independent runs; per example the first successful one is kept (else the highest objective). Default 1. */
  restarts?: number;
  /** Return the best iterate per example (objective evaluated before each step and after the last) or the last. */
  keep?: "best" | "last";
  /** Random starts draw example i's noise from (seed, restart, exampleOffset + i): the same at any batch size. */
  seed?: number;
  /** Index of this batch's first example in the whole run (default 0). */
  exampleOffset?: number;
  /** Nodes whose gradient passes straight through (fake ReLU), by name. */
  straightThrough?: readonly string[];
  onStep?: OnStep;
  /** Stops between steps (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Extra or replacing feeds for every call (e.g. current weights of a model being trained). */
  feeds?: Record<string, Tensor>;
}

export type { AttackResult } from "./runs.js";
export { defaultStepSize } from "./threat.js";

export function checkPgdOptions(o: PgdOptions): void {
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`steps must be a positive integer, got ${o.steps}`);
  if (o.stepSize !== undefined && !(o.stepSize > 0 && Number.isFinite(o.stepSize)))
    throw new Error(`step size must be positive, got ${o.stepSize}`);
  if (o.restarts !== undefined && (!Number.isInteger(o.restarts) || o.restarts < 1))
    throw new Error(`restarts must be a positive integer, got ${o.restarts}`);
  if (o.keep !== undefined && o.keep !== "best" && o.keep !== "last") throw new Error(`keep must be "best" or "last", got "${o.keep}"`);
}

const perExample = (n: number, v: number, shapeRank: number) =>
  tensor("float32", [n, ...Array(shapeRank - 1).fill(1)], new Float32Array(n).fill(v));

/** One attack's setting, resolved once for all its runs. */
interface Attack {
  p: AttackPrograms;
  model: AttackTarget;
  x0: Tensor<"float32">;
  o: PgdOptions;
  /** The loss's feeds and the caller's, for every program run. */
  feeds: Record<string, Tensor>;
  alpha: number;
  tick: (x: Tensor<"float32">, obj: Float32Array) => void;
  /** Restart r's starting point. */
  start: (r: number) => Tensor<"float32">;
}

/** The steps of one PGD run from `start`: the last iterate, and the best one before it with its objective. */
async function iterate(
  { p, model, x0, o, feeds, alpha, tick }: Attack,
  start: Tensor<"float32">,
): Promise<{ x: Tensor<"float32">; bestX: Tensor<"float32">; bestObj: Tensor<"float32"> }> {
  const n = x0.shape[0]!;
  let x = start;
  let bestX = start;
  let bestObj = tensor("float32", [n], new Float32Array(n).fill(-Infinity));
  const a = perExample(n, alpha, x0.shape.length);
  for (let k = 0; k < o.steps; k++) {
    checkAbort(o.signal);
    const out = await p.step.run({ ...feeds, [model.inputName]: x, x0, best_x: bestX, best_obj: bestObj, alpha: a });
    x = out[p.names.xNext] as Tensor<"float32">;
    bestX = out[p.names.bestX!] as Tensor<"float32">;
    bestObj = out[p.names.bestObj!] as Tensor<"float32">;
    tick(x, out[p.names.obj]!.data as Float32Array);
  }
  return { x, bestX, bestObj };
}

/** One PGD run from `start`; returns the kept iterate and its objective and logits. */
async function run(attack: Attack, start: Tensor<"float32">): Promise<Run> {
  const { p, model, x0, o, feeds } = attack;
  const n = x0.shape[0]!;
  const { x, bestX, bestObj } = await iterate(attack, start);
  const last = await p.evaluate.run({ ...feeds, [model.inputName]: x });
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
  const ev = await p.evaluate.run({ ...feeds, [model.inputName]: xb });
  return { x: xb, obj: ev[p.names.obj]!.data as Float32Array, logits: ev[p.names.logits]! };
}

/** The attack's setting resolved once: its programs, step size, progress tick and starts. */
async function prepare(session: Session, model: AttackTarget, x0: Tensor<"float32">, o: PgdOptions, restarts: number): Promise<Attack> {
  const n = model.checkInput(x0);
  const threat = threatModel(o.threat);
  const alpha = o.stepSize ?? defaultStepSize(threat, o.steps);
  const sign = o.loss.goal === "max" ? 1 : -1;
  const p = await attackPrograms(session, model, n, o.loss, threat, { straightThrough: o.straightThrough });
  let done = 0;
  const tick = (x: Tensor<"float32">, obj: Float32Array) => o.onStep?.(++done, o.steps * restarts, { x, loss: obj.map((v) => sign * v) });
  const start = (r: number) => (o.randomStart ? threat.randomStart(x0, exampleNoise(o.seed ?? 0, r, o.exampleOffset ?? 0)) : x0);
  return { p, model, x0, o, feeds: { ...o.loss.feeds, ...o.feeds }, alpha, tick, start };
}

/** Projected gradient descent/ascent on a per-example loss; nothing depends on the batch size. */
export async function pgd(runner: Runner, model: AttackTarget, x0: Tensor<"float32">, o: PgdOptions): Promise<AttackResult> {
  checkPgdOptions(o);
  const restarts = o.restarts ?? 1;
  return withSession(runner, async (session) => {
    const attack = await prepare(session, model, x0, o, restarts);
    return bestOfRestarts(restarts, o.loss, (r) => run(attack, attack.start(r)));
  });
}

/**
 * The last PGD iterate alone (one run, no restarts), not evaluated: one forward pass less than `pgd(…, { keep: "last" })`,
 * for callers that only feed it on, as adversarial training does its update.
 */
export async function pgdIterate(
  runner: Runner,
  model: AttackTarget,
  x0: Tensor<"float32">,
  o: Omit<PgdOptions, "keep" | "restarts">,
): Promise<Tensor<"float32">> {
  checkPgdOptions(o);
  return withSession(runner, async (session) => {
    const attack = await prepare(session, model, x0, o, 1);
    return (await iterate(attack, attack.start(0))).x;
  });
}

/** FGSM: one L∞ step of size ε (or `stepSize`) from the clean input (or a random start in the ε-box). */
export async function fgsm(
  runner: Runner,
  model: AttackTarget,
  x0: Tensor<"float32">,
  o: { eps: number; loss: AttackLoss; stepSize?: number } & Pick<PgdOptions, "randomStart" | "seed" | "exampleOffset" | "onStep" | "feeds">,
): Promise<AttackResult> {
  return pgd(runner, model, x0, { ...o, threat: { kind: "linf", eps: o.eps }, steps: 1, stepSize: o.stepSize ?? o.eps, keep: "last" });
}
