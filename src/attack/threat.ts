// Threat models: the set an attack may move an input in, as pure graph steps (per example, independent of batch size),
// and the table of named ones from which parsing, help text, validation and default step sizes derive.
import type { Builder } from "../builder/builder.js";
import type { Value } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import type { Rng } from "../util/rng.js";
import { l2Threat } from "./l2.js";
import { linfThreat } from "./linf.js";
import { unconstrainedThreat } from "./unconstrained.js";

export type ThreatSpec = { kind: "l2"; eps: number } | { kind: "linf"; eps: number } | { kind: "unconstrained" };
export type ThreatKind = ThreatSpec["kind"];

/** Per-example random streams of a random start: example i of the batch draws from noise(i). */
export type NoiseSource = (i: number) => Rng;

export interface ThreatModel {
  /** Short name for reports ("l2", "linf", or a user's own). */
  readonly name: string;
  /** Everything the step and projection bake into a graph: compiled programs are cached under it. */
  readonly key: string;
  /** Radius, for threats that are balls. */
  readonly eps?: number;
  /** x + alpha · (steepest-ascent direction of grad in this norm); alpha is a scalar or per example [N,1,...]. */
  step(g: Builder, x: Value, grad: Value, alpha: Value): Value;
  /** The point of the threat set around x0 (intersected with the [0,1] box) that this norm's projection gives. */
  project(g: Builder, x: Value, x0: Value): Value;
  /** A random starting point in the set around x0 (the robustness library's choice for this norm). */
  randomStart(x0: Tensor<"float32">, noise: NoiseSource): Tensor<"float32">;
  /** Size of one example's perturbation in this norm (L2 for unconstrained). */
  norm(delta: ArrayLike<number>): number;
  /** Step size when none is given (the robustness library's 2.5·ε/steps); absent: a step size is required. */
  defaultStepSize?(steps: number): number;
}

export interface ThreatDef {
  readonly kind: ThreatKind;
  readonly help: string;
  readonly needsEps: boolean;
  /** Name of the norm perturbations are measured in. */
  readonly normName: string;
  make(eps: number | undefined): ThreatModel;
}

/** The named threats: one row per threat, everything else derives from here. */
export const THREATS: { readonly [K in ThreatKind]: ThreatDef } = {
  l2: { kind: "l2", help: "L2 ball of radius eps", needsEps: true, normName: "L2", make: (eps) => l2Threat(eps!) },
  linf: { kind: "linf", help: "L∞ box of half-width eps", needsEps: true, normName: "L∞", make: (eps) => linfThreat(eps!) },
  unconstrained: {
    kind: "unconstrained",
    help: "only the [0,1] pixel box (needs a step size)",
    needsEps: false,
    normName: "L2",
    make: () => unconstrainedThreat(),
  },
};
export const THREAT_KINDS = Object.keys(THREATS) as ThreatKind[];
export const THREAT_HELP = THREAT_KINDS.map((k) => `${k}: ${THREATS[k].help}`).join("; ");

const isModel = (t: ThreatSpec | ThreatModel): t is ThreatModel => typeof (t as ThreatModel).step === "function";

/** The threat model of a spec; a ThreatModel (a user's own) is returned as it is. */
export function threatModel(t: ThreatSpec | ThreatModel): ThreatModel {
  if (isModel(t)) return t;
  const def = THREATS[t.kind as ThreatKind] as ThreatDef | undefined;
  if (!def) throw new Error(`unknown threat model "${(t as { kind: string }).kind}" (expected ${THREAT_KINDS.join(", ")})`);
  const eps = "eps" in t ? t.eps : undefined;
  if (def.needsEps && !(typeof eps === "number" && Number.isFinite(eps) && eps > 0))
    throw new Error(`threat ${t.kind}: eps must be a positive number, got ${eps}`);
  return def.make(eps);
}

/** Parses CLI words into a spec, with one-line errors. */
export function parseThreat(kind: string, eps: number | undefined): ThreatSpec {
  const def = (THREATS as Record<string, ThreatDef>)[kind];
  if (!def) throw new Error(`unknown threat model "${kind}" (expected ${THREAT_KINDS.join(", ")})`);
  if (!def.needsEps) {
    if (eps !== undefined) throw new Error(`--eps does not apply to --threat ${kind}`);
    return { kind } as ThreatSpec;
  }
  if (eps === undefined || !Number.isFinite(eps) || eps <= 0)
    throw new Error(`--eps must be a positive number for --threat ${kind}, got ${eps}`);
  return { kind, eps } as ThreatSpec;
}

/** The step size an attack uses when none is given: the threat's rule (2.5·ε/steps for balls). */
export function defaultStepSize(t: ThreatSpec | ThreatModel, steps: number): number {
  const m = threatModel(t);
  if (!m.defaultStepSize) throw new Error(`${m.name} attacks need an explicit step size`);
  return m.defaultStepSize(steps);
}

/** ε-balls' rule of thumb (the robustness library's): 2.5·ε/steps. */
export const ruleOfThumb = (eps: number) => (steps: number) => (2.5 * eps) / steps;

/** Axes of every dimension but the batch: per-example reductions. */
export const exampleAxes = (x: Value): number[] => Array.from({ length: (x.rank ?? 4) - 1 }, (_, i) => i + 1);

/** Clamps into the pixel box [0,1]. */
export const clampBox = (g: Builder, x: Value): Value => g.clip(x, g.scalarLike(0, x), g.scalarLike(1, x));

export function l2NormOf(d: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i]! * d[i]!;
  return Math.sqrt(s);
}
