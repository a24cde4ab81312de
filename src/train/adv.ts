// Adversarial training modes as one union: PGD-k, FGSM-RS, Free (Shafahi et al. 2019) and N-FGSM (de Jorge et al. 2022).
import { type ThreatModel, type ThreatSpec, THREATS, clampBox, l2NormOf } from "../attack/threat.js";
import { type Tensor, tensor } from "../ir/tensor.js";

export type BallKind = "l2" | "linf";
export const BALL_KINDS: readonly BallKind[] = ["l2", "linf"];

export type AdvSpec =
  /** PGD-k on the eval-mode model before every step (Madry et al.; the robustness library's recipe). */
  | { kind: "l2" | "linf"; eps: number; steps: number; stepSize?: number }
  /** FGSM from a uniform start in the L∞ box, step 1.25·ε (Wong et al. 2020). */
  | { kind: "fgsm-rs"; eps: number }
  /** Free: each batch replayed `replays` times; one program gives the weight and input gradients; δ carried over. */
  | { kind: "free"; threat: BallKind; eps: number; replays: number; stepSize?: number }
  /** N-FGSM: noise U(−k·ε, k·ε) (L2: uniform in the k·ε ball), one step of α (default ε), no projection to the ε ball. */
  | { kind: "n-fgsm"; threat: BallKind; eps: number; noise?: number; stepSize?: number };

export type AdvKind = AdvSpec["kind"];
export const ADV_KINDS: readonly AdvKind[] = ["l2", "linf", "fgsm-rs", "free", "n-fgsm"];
export const DEFAULT_NOISE = 2;

/** The threat (kind and ε) the mode trains against: the per-epoch PGD-10 evaluation attacks it. */
export function advThreat(a: AdvSpec): ThreatSpec {
  switch (a.kind) {
    case "l2":
    case "linf":
      return { kind: a.kind, eps: a.eps };
    case "fgsm-rs":
      return { kind: "linf", eps: a.eps };
    case "free":
    case "n-fgsm":
      return { kind: a.threat, eps: a.eps };
  }
}

/** Passes over the training data: Free divides the epochs by its replays so the number of gradient steps stays the same. */
export function passesOf(epochs: number, a: AdvSpec | undefined): number {
  return a?.kind === "free" ? epochs / a.replays : epochs;
}

const positive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;

/** One-line errors for a spec made in code (the CLI checks its words first, with flag names). */
export function checkAdv(a: AdvSpec, epochs: number): void {
  const kinds = ADV_KINDS as readonly string[];
  if (!kinds.includes(a.kind)) throw new Error(`adv: unknown kind "${(a as { kind: string }).kind}" (expected ${ADV_KINDS.join(", ")})`);
  if (!positive(a.eps)) throw new Error(`adv ${a.kind}: eps must be a positive number, got ${a.eps}`);
  if ("stepSize" in a && a.stepSize !== undefined && !positive(a.stepSize))
    throw new Error(`adv ${a.kind}: stepSize must be a positive number, got ${a.stepSize}`);
  if ((a.kind === "free" || a.kind === "n-fgsm") && !(BALL_KINDS as readonly string[]).includes(a.threat))
    throw new Error(`adv ${a.kind}: threat must be ${BALL_KINDS.join(" or ")}, got ${JSON.stringify(a.threat)}`);
  if (a.kind === "free") {
    if (!Number.isSafeInteger(a.replays) || a.replays < 1) throw new Error(`adv free: replays must be an integer >= 1, got ${a.replays}`);
    if (epochs % a.replays !== 0)
      throw new Error(`adv free: epochs ${epochs} is not a multiple of replays ${a.replays} (Free makes epochs/replays passes)`);
  }
  if (a.kind === "n-fgsm" && a.noise !== undefined && !(Number.isFinite(a.noise) && a.noise >= 0))
    throw new Error(`adv n-fgsm: noise must be a number >= 0, got ${a.noise}`);
}

/** Free's update of the replayed input: x' = project(step(x, ∇ₓ, α)) with α = ε by default (the paper's choice). */
export function freeUpdate(a: Extract<AdvSpec, { kind: "free" }>): { threat: ThreatModel; stepSize: number } {
  return { threat: THREATS[a.threat].make(a.eps), stepSize: a.stepSize ?? a.eps };
}

/**
 * N-FGSM as a threat model for a one-step `pgd()`: the random start is the noise (L∞: uniform in the k·ε box; L2:
 * uniform in the k·ε ball, radius k·ε·U^(1/d)), the step is the norm's, and the projection is only the [0,1] box.
 */
export function nfgsmThreat(a: Extract<AdvSpec, { kind: "n-fgsm" }>): { threat: ThreatModel; stepSize: number } {
  const k = a.noise ?? DEFAULT_NOISE;
  const base = THREATS[a.threat].make(a.eps);
  const r = k * a.eps;
  const randomStart =
    r === 0
      ? (x0: Tensor<"float32">) => tensor("float32", x0.shape, Float32Array.from(x0.data)) as Tensor<"float32">
      : a.threat === "linf"
        ? THREATS.linf.make(r).randomStart
        : (x0: Tensor<"float32">, noise: (i: number) => { normal(): number; next(): number }) => {
            const per = x0.data.length / x0.shape[0]!;
            const out = new Float32Array(x0.data.length);
            for (let i = 0; i < x0.shape[0]!; i++) {
              const rng = noise(i);
              const n = Array.from({ length: per }, () => rng.normal());
              const s = (r * Math.pow(rng.next(), 1 / per)) / l2NormOf(n);
              for (let j = 0; j < per; j++) out[i * per + j] = Math.min(1, Math.max(0, x0.data[i * per + j]! + s * n[j]!));
            }
            return tensor("float32", x0.shape, out) as Tensor<"float32">;
          };
  const threat: ThreatModel = {
    name: `n-fgsm-${a.threat}`,
    key: `n-fgsm:${a.threat}:${a.eps}:${k}`,
    eps: (k + 1) * a.eps,
    step: base.step,
    // no projection back to the ε ball (the point of N-FGSM): only the image range
    project: (g, x) => clampBox(g, x),
    randomStart,
    norm: base.norm,
  };
  return { threat, stepSize: a.stepSize ?? a.eps };
}
