// One entry point for every attack method, as the CLI and evaluation name them.
import type { Tensor } from "../ir/tensor.js";
import type { Executor } from "../runtime/executor.js";
import { apgd } from "./apgd.js";
import { dlrLoss } from "./dlr.js";
import { ceLoss, targetedCeLoss } from "./losses.js";
import { type AttackResult, defaultStepSize, pgd } from "./pgd.js";
import type { AttackTarget } from "./program.js";
import type { ThreatSpec } from "./threat.js";

export const ATTACK_METHODS = ["pgd", "fgsm", "apgd-ce", "apgd-dlr"] as const;
export type AttackMethod = (typeof ATTACK_METHODS)[number];

export interface AttackRequest {
  method: AttackMethod;
  threat: ThreatSpec;
  labels: Tensor<"int64">;
  /** Targeted attack towards these labels (pgd and fgsm only). */
  targetLabels?: Tensor<"int64">;
  steps: number;
  stepSize?: number;
  randomStart?: boolean;
  restarts?: number;
  keep?: "best" | "last";
  seed?: number;
  onStep?: (done: number, total: number) => void;
}

export function parseMethod(m: string): AttackMethod {
  if (!(ATTACK_METHODS as readonly string[]).includes(m)) throw new Error(`unknown attack method "${m}" (expected ${ATTACK_METHODS.join(", ")})`);
  return m as AttackMethod;
}

/** The step size an attack will use, for reports ("rule of thumb" 2.5·ε/steps unless given). */
export function effectiveStepSize(r: AttackRequest): number | undefined {
  if (r.method === "fgsm") return r.threat.kind === "unconstrained" ? r.stepSize : r.threat.eps;
  if (r.method !== "pgd") return undefined;
  return r.stepSize ?? defaultStepSize(r.threat, r.steps);
}

export async function runAttack(exec: Executor, model: AttackTarget, x: Tensor<"float32">, r: AttackRequest): Promise<AttackResult> {
  const loss = r.targetLabels ? targetedCeLoss(r.targetLabels) : ceLoss(r.labels);
  switch (r.method) {
    case "pgd":
      return pgd(exec, model, x, { threat: r.threat, loss, steps: r.steps, stepSize: r.stepSize, randomStart: r.randomStart, restarts: r.restarts, keep: r.keep, seed: r.seed, onStep: r.onStep });
    case "fgsm": {
      if (r.threat.kind !== "linf") throw new Error(`fgsm is an L∞ attack; got --threat ${r.threat.kind}`);
      return pgd(exec, model, x, { threat: r.threat, loss, steps: 1, stepSize: r.stepSize ?? r.threat.eps, randomStart: r.randomStart, keep: "last", seed: r.seed, onStep: r.onStep });
    }
    case "apgd-ce":
    case "apgd-dlr": {
      if (r.targetLabels) throw new Error(`${r.method}: targeted attacks are not supported; use --method pgd`);
      const l = r.method === "apgd-ce" ? ceLoss(r.labels) : dlrLoss(r.labels);
      return apgd(exec, model, x, { threat: r.threat, loss: l, steps: r.steps, restarts: r.restarts, seed: r.seed, onStep: r.onStep });
    }
  }
}
