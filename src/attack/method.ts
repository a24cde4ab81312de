// One entry point for every attack method, as the CLI and evaluation name them.
import type { Tensor } from "../ir/tensor.js";
import type { Executor } from "../runtime/executor.js";
import { apgd } from "./apgd.js";
import { dlrLoss } from "./dlr.js";
import { ceLoss, targetedCeLoss } from "./losses.js";
import { type AttackResult, defaultStepSize, pgd } from "./pgd.js";
import type { AttackLoss } from "./losses.js";
import { type AttackPrograms, type AttackTarget, compileAttack } from "./program.js";
import { type ThreatSpec, threatModel } from "./threat.js";

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

/**
 * PGD/FGSM programs of one model and executor, reused across the batches of a run: compiled once per batch size, threat
 * and loss kind (the labels are fed, not built in). Dispose it when the run ends.
 */
export class AttackCache {
  private readonly programs = new Map<string, Promise<AttackPrograms>>();
  constructor(readonly exec: Executor, readonly model: AttackTarget) {}

  get(n: number, loss: AttackLoss, threat: ThreatSpec): Promise<AttackPrograms> {
    const key = `${n}|${loss.name}|${JSON.stringify(threat)}`;
    let p = this.programs.get(key);
    if (!p) {
      p = compileAttack(this.exec, this.model, n, loss, threatModel(threat));
      this.programs.set(key, p);
      // a failed compile is not kept, so the next batch reports the error again
      p.catch(() => this.programs.delete(key));
    }
    return p;
  }

  async dispose(): Promise<void> {
    const all = [...this.programs.values()];
    this.programs.clear();
    for (const p of all) await p.then((q) => q.dispose(), () => {});
  }
}

/** Runs one attack on a batch; with `cache` (same model and executor) PGD and FGSM reuse compiled programs. */
export async function runAttack(exec: Executor, model: AttackTarget, x: Tensor<"float32">, r: AttackRequest, cache?: AttackCache): Promise<AttackResult> {
  const loss = r.targetLabels ? targetedCeLoss(r.targetLabels) : ceLoss(r.labels);
  if (cache && (cache.exec !== exec || cache.model !== model)) throw new Error("internal: AttackCache used with another model or executor");
  const reuse = async (): Promise<{ programs?: AttackPrograms; feeds?: Record<string, Tensor> }> => {
    if (!cache) return {};
    const n = model.checkInput(x);
    const labels = r.targetLabels ?? r.labels;
    if (labels.shape.length !== 1 || labels.shape[0] !== n) throw new Error(`labels [${labels.shape}] do not match a batch of ${n}`);
    return { programs: await cache.get(n, loss, r.threat), feeds: { [r.targetLabels ? "target_labels" : "labels"]: labels } };
  };
  switch (r.method) {
    case "pgd":
      return pgd(exec, model, x, { threat: r.threat, loss, steps: r.steps, stepSize: r.stepSize, randomStart: r.randomStart, restarts: r.restarts, keep: r.keep, seed: r.seed, onStep: r.onStep, ...await reuse() });
    case "fgsm": {
      if (r.threat.kind !== "linf") throw new Error(`fgsm is an L∞ attack; got --threat ${r.threat.kind}`);
      return pgd(exec, model, x, { threat: r.threat, loss, steps: 1, stepSize: r.stepSize ?? r.threat.eps, randomStart: r.randomStart, keep: "last", seed: r.seed, onStep: r.onStep, ...await reuse() });
    }
    case "apgd-ce":
    case "apgd-dlr": {
      if (r.targetLabels) throw new Error(`${r.method}: targeted attacks are not supported; use --method pgd`);
      const l = r.method === "apgd-ce" ? ceLoss(r.labels) : dlrLoss(r.labels);
      return apgd(exec, model, x, { threat: r.threat, loss: l, steps: r.steps, restarts: r.restarts, seed: r.seed, onStep: r.onStep });
    }
  }
}
