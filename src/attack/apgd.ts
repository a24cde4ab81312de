// Auto-PGD (Croce & Hein, ICML 2020): momentum steps, step size halved at checkpoints, restart from the best point.
import { type Tensor, tensor } from "../ir/tensor.js";
import { type Runner, withSession } from "../runtime/session.js";
import type { AttackLoss } from "./losses.js";
import { type AttackPrograms, type AttackTarget, type UpdateRule, attackPrograms, perExampleInput } from "./program.js";
import { type AttackResult, type OnStep, type Run, bestOfRestarts, checkAbort, copyRow, exampleNoise } from "./runs.js";
import { type ThreatSpec, threatModel } from "./threat.js";

export interface ApgdOptions {
  /** An ε-ball: l2 or linf (APGD's step size is relative to ε). */
  threat: ThreatSpec;
  /** ceLoss or dlrLoss (any per-example loss works; its goal orients the ascent). */
  loss: AttackLoss;
  /** Iterations N_iter per restart; default 100. */
  steps?: number;
  /** Runs, each from its own random start; per example the first successful one is kept (else the highest objective). Default 1. */
  restarts?: number;
  /** Random starts draw example i's noise from (seed, restart, exampleOffset + i): the same at any batch size. */
  seed?: number;
  exampleOffset?: number;
  /** Halve η when fewer than ρ of the steps since the last checkpoint increased the objective; default 0.75. */
  rho?: number;
  /** Momentum weight α of the new step; default 0.75. */
  alpha?: number;
  onStep?: OnStep;
  signal?: AbortSignal;
  feeds?: Record<string, Tensor>;
}

/** Checkpoints w_j = ceil(p_j·N): p0 = 0, p1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), kept while ≤ N. */
export function apgdCheckpoints(steps: number): number[] {
  // p in hundredths: every constant is a multiple of 0.01, so integers keep ceil exact (0.22·100 is 22.000000000000004)
  const q = [0, 22];
  while (q[q.length - 1]! < 100) q.push(q[q.length - 1]! + Math.max(q[q.length - 1]! - q[q.length - 2]! - 3, 6));
  const w = q.map((p) => Math.ceil((p * steps) / 100)).filter((v) => v <= steps);
  return [...new Set(w)];
}

/** At a checkpoint, per example: halve η and restart from the best point? (values at the previous checkpoint: *AtCheck) */
export function shouldRestart(
  s: { ups: number; window: number; eta: number; etaAtCheck: number; best: number; bestAtCheck: number },
  rho: number,
): boolean {
  // condition 1: fewer than ρ of the steps since the last checkpoint increased f; condition 2: neither η nor f_max changed
  return s.ups < rho * s.window || (s.eta === s.etaAtCheck && s.best === s.bestAtCheck);
}

/** APGD's update: z = P(x_k + η·step(∇f)); x_{k+1} = P(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1})). */
export const APGD_RULE: UpdateRule = {
  name: "apgd",
  build: (g, { graph, x, grad: dx, x0, n, threat }) => {
    const xPrev = graph.addInput("x_prev", "float32", x.shape);
    const eta = perExampleInput(graph, "eta", x, n);
    const alpha = graph.addInput("alpha", "float32", []);
    const z = threat.project(g, threat.step(g, x, dx, eta), x0);
    const moved = g.addv(g.addv(x, g.mul(alpha, g.sub(z, x))), g.mul(g.sub(g.scalarLike(1, alpha), alpha), g.sub(x, xPrev)));
    return { xNext: g.identity(threat.project(g, moved, x0), "x_next") };
  },
};

/** One APGD run from `start`: N_iter steps; returns the best iterate per example, its objective and logits. */
async function runOnce(
  p: AttackPrograms,
  model: AttackTarget,
  x0: Tensor<"float32">,
  start: Tensor<"float32">,
  o: Required<Pick<ApgdOptions, "steps" | "rho" | "alpha">> & Pick<ApgdOptions, "signal" | "feeds">,
  loss: AttackLoss,
  eps: number,
  tick: (x: Tensor<"float32">, obj: Float32Array) => void,
): Promise<Run> {
  const feeds = { ...loss.feeds, ...o.feeds };
  const n = x0.shape[0]!,
    per = x0.data.length / n,
    steps = o.steps;
  const checkpoints = new Set(apgdCheckpoints(steps).filter((w) => w > 0));
  const eta = new Float32Array(n).fill(2 * eps);
  const etaTensor = () => tensor("float32", [n, ...Array(x0.shape.length - 1).fill(1)], eta.slice());
  const bestX = Float32Array.from(start.data);
  const bestObj = new Float32Array(n).fill(-Infinity);
  let bestLogits: Float32Array | undefined;
  let c = 0;
  const prevObj = new Float32Array(n);
  const ups = new Int32Array(n);
  let lastW = 0;
  let etaAtCheck = eta.slice(),
    bestAtCheck = bestObj.slice();
  // records f(x_k): counts increases over f(x_{k−1}) and keeps the best iterate
  const observe = (x: Tensor<"float32">, obj: Float32Array, logits: Tensor, k: number) => {
    c = logits.shape[1]!;
    bestLogits ??= Float32Array.from(logits.data as Float32Array);
    for (let i = 0; i < n; i++) {
      if (k > 0 && obj[i]! > prevObj[i]!) ups[i]!++;
      prevObj[i] = obj[i]!;
      if (obj[i]! > bestObj[i]!) {
        bestObj[i] = obj[i]!;
        copyRow(bestX, x, i, per);
        bestLogits.set((logits.data as Float32Array).subarray(i * c, (i + 1) * c), i * c);
      }
    }
  };
  const stepFrom = (x: Tensor<"float32">, xPrev: Tensor<"float32">, a: number) =>
    p.step.run({ ...feeds, [model.inputName]: x, x_prev: xPrev, x0, eta: etaTensor(), alpha: tensor("float32", [], [a]) });

  let x = start,
    xPrev = start;
  for (let k = 0; k < steps; k++) {
    checkAbort(o.signal);
    // x(1) = P(x(0) + η·step): the first step has no momentum
    const a = k === 0 ? 1 : o.alpha;
    let out = await stepFrom(x, xPrev, a);
    observe(x, out[p.names.obj]!.data as Float32Array, out[p.names.logits]!, k);
    // f_max(w_0) = f(x(0)): condition 2 at the first checkpoint compares against the start
    if (k === 0) bestAtCheck = bestObj.slice();
    if (checkpoints.has(k)) {
      const reset: number[] = [];
      for (let i = 0; i < n; i++) {
        const at = {
          ups: ups[i]!,
          window: k - lastW,
          eta: eta[i]!,
          etaAtCheck: etaAtCheck[i]!,
          best: bestObj[i]!,
          bestAtCheck: bestAtCheck[i]!,
        };
        if (shouldRestart(at, o.rho)) reset.push(i);
      }
      etaAtCheck = eta.slice();
      bestAtCheck = bestObj.slice();
      ups.fill(0);
      lastW = k;
      if (reset.length > 0) {
        const xr = Float32Array.from(x.data);
        for (const i of reset) {
          eta[i]! /= 2;
          xr.set(bestX.subarray(i * per, (i + 1) * per), i * per);
          // the next increase is counted against the restored point's objective
          prevObj[i] = bestObj[i]!;
        }
        x = tensor("float32", x.shape, xr) as Tensor<"float32">;
        // the step from the restored point (other examples repeat the same computation)
        out = await stepFrom(x, xPrev, a);
      }
    }
    xPrev = x;
    x = out[p.names.xNext] as Tensor<"float32">;
    tick(x, out[p.names.obj]!.data as Float32Array);
  }
  const last = await p.evaluate.run({ ...feeds, [model.inputName]: x });
  observe(x, last[p.names.obj]!.data as Float32Array, last[p.names.logits]!, steps);
  return { x: tensor("float32", x0.shape, bestX) as Tensor<"float32">, obj: bestObj, logits: tensor("float32", [n, c], bestLogits!) };
}

function checkOptions(o: ApgdOptions): { steps: number; restarts: number; rho: number; alpha: number; eps: number } {
  if (o.threat.kind === "unconstrained")
    throw new Error("apgd needs an l2 or linf threat (its step size is relative to ε), got unconstrained");
  const steps = o.steps ?? 100,
    restarts = o.restarts ?? 1,
    rho = o.rho ?? 0.75,
    alpha = o.alpha ?? 0.75;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`apgd: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(restarts) || restarts < 1) throw new Error(`apgd: restarts must be a positive integer, got ${restarts}`);
  if (!(rho > 0 && rho <= 1)) throw new Error(`apgd: rho must be in (0, 1], got ${rho}`);
  if (!(alpha > 0 && alpha <= 1)) throw new Error(`apgd: alpha (momentum) must be in (0, 1], got ${alpha}`);
  return { steps, restarts, rho, alpha, eps: o.threat.eps };
}

/** APGD on a per-example loss within an L2 or L∞ ball; returns the best iterate of the kept restart per example. */
export async function apgd(runner: Runner, model: AttackTarget, x0: Tensor<"float32">, o: ApgdOptions): Promise<AttackResult> {
  const { steps, restarts, rho, alpha, eps } = checkOptions(o);
  const threat = threatModel(o.threat);
  const n = model.checkInput(x0);
  const sign = o.loss.goal === "max" ? 1 : -1;
  return withSession(runner, async (session) => {
    const p = await attackPrograms(session, model, n, o.loss, threat, { rule: APGD_RULE });
    let done = 0;
    const tick = (x: Tensor<"float32">, obj: Float32Array) => o.onStep?.(++done, steps * restarts, { x, loss: obj.map((v) => sign * v) });
    return bestOfRestarts(restarts, o.loss, (r) =>
      runOnce(
        p,
        model,
        x0,
        threat.randomStart(x0, exampleNoise(o.seed ?? 0, r, o.exampleOffset ?? 0)),
        { steps, rho, alpha, signal: o.signal, feeds: o.feeds },
        o.loss,
        eps,
        tick,
      ),
    );
  });
}
