// One entry point for every attack method, as the CLI and evaluation name them.
import type { Tensor } from "../ir/tensor.js";
import type { Runner } from "../runtime/session.js";
import { apgd } from "./apgd.js";
import { dlrLoss } from "./dlr.js";
import { ceLoss, targetedCeLoss } from "./losses.js";
import { type PgdOptions, fgsm, pgd } from "./pgd.js";
import type { AttackTarget } from "./program.js";
import type { AttackResult } from "./runs.js";
import { type ThreatSpec, defaultStepSize } from "./threat.js";

export const ATTACK_METHODS = ["pgd", "fgsm", "apgd-ce", "apgd-dlr"] as const;
export type AttackMethod = (typeof ATTACK_METHODS)[number];

export interface AttackRequest extends Pick<
  PgdOptions,
  "stepSize" | "randomStart" | "restarts" | "keep" | "seed" | "exampleOffset" | "onStep"
> {
  method: AttackMethod;
  threat: ThreatSpec;
  labels: Tensor<"int64">;
  /** Targeted attack towards these labels (pgd and fgsm only). */
  targetLabels?: Tensor<"int64">;
  steps: number;
}

export function parseMethod(m: string): AttackMethod {
  if (!(ATTACK_METHODS as readonly string[]).includes(m))
    throw new Error(`unknown attack method "${m}" (expected ${ATTACK_METHODS.join(", ")})`);
  return m as AttackMethod;
}

/** The step size an attack will use, for reports ("rule of thumb" 2.5·ε/steps unless given). */
export function effectiveStepSize(r: Pick<AttackRequest, "method" | "threat" | "steps" | "stepSize">): number | undefined {
  if (r.method === "fgsm") return r.threat.kind === "unconstrained" ? r.stepSize : r.threat.eps;
  if (r.method !== "pgd") return undefined;
  return r.stepSize ?? defaultStepSize(r.threat, r.steps);
}

/** Runs one attack on a batch; with a Session, programs compiled for earlier batches of the same size are reused. */
export async function runAttack(runner: Runner, model: AttackTarget, x: Tensor<"float32">, r: AttackRequest): Promise<AttackResult> {
  const loss = r.targetLabels ? targetedCeLoss(r.targetLabels) : ceLoss(r.labels);
  const common = { randomStart: r.randomStart, seed: r.seed, exampleOffset: r.exampleOffset, onStep: r.onStep };
  switch (r.method) {
    case "pgd":
      return pgd(runner, model, x, {
        ...common,
        threat: r.threat,
        loss,
        steps: r.steps,
        stepSize: r.stepSize,
        restarts: r.restarts,
        keep: r.keep,
      });
    case "fgsm":
      if (r.threat.kind !== "linf") throw new Error(`fgsm is an L∞ attack; got --threat ${r.threat.kind}`);
      return fgsm(runner, model, x, { ...common, eps: r.threat.eps, loss, stepSize: r.stepSize });
    case "apgd-ce":
    case "apgd-dlr": {
      if (r.targetLabels) throw new Error(`${r.method}: targeted attacks are not supported; use --method pgd`);
      const l = r.method === "apgd-ce" ? ceLoss(r.labels) : dlrLoss(r.labels);
      return apgd(runner, model, x, { ...common, threat: r.threat, loss: l, steps: r.steps, restarts: r.restarts });
    }
  }
}
