// Threat models: the set an attack may move an input in, as pure graph steps (per example, independent of batch size).
import type { Builder } from "../ir/builder.js";
import type { Value } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import type { Rng } from "../util/rng.js";
import { l2Threat } from "./l2.js";
import { linfThreat } from "./linf.js";
import { unconstrainedThreat } from "./unconstrained.js";

export type ThreatSpec = { kind: "l2"; eps: number } | { kind: "linf"; eps: number } | { kind: "unconstrained" };
export type ThreatKind = ThreatSpec["kind"];

export interface ThreatModel {
  readonly spec: ThreatSpec;
  /** x + alpha · (steepest-ascent direction of grad in this norm); alpha is a scalar or per example [N,1,...]. */
  step(g: Builder, x: Value, grad: Value, alpha: Value): Value;
  /** The point of the threat set around x0 (intersected with the [0,1] box) that this norm's projection gives. */
  project(g: Builder, x: Value, x0: Value): Value;
  /** A random starting point in the set around x0 (the robustness library's choice for this norm). */
  randomStart(x0: Tensor<"float32">, rng: Rng): Tensor<"float32">;
  /** Size of one example's perturbation in this norm (L2 for unconstrained). */
  norm(delta: ArrayLike<number>): number;
}

/** Axes of every dimension but the batch: per-example reductions. */
export const exampleAxes = (x: Value): number[] => Array.from({ length: (x.rank ?? 4) - 1 }, (_, i) => i + 1);

export function threatModel(spec: ThreatSpec): ThreatModel {
  if (spec.kind !== "unconstrained" && !(Number.isFinite(spec.eps) && spec.eps > 0)) {
    throw new Error(`threat ${spec.kind}: eps must be a positive number, got ${spec.eps}`);
  }
  switch (spec.kind) {
    case "l2": return l2Threat(spec.eps);
    case "linf": return linfThreat(spec.eps);
    case "unconstrained": return unconstrainedThreat();
    default: throw new Error(`unknown threat model "${(spec as { kind: string }).kind}" (expected l2, linf or unconstrained)`);
  }
}

/** Parses CLI words into a spec, with one-line errors. */
export function parseThreat(kind: string, eps: number | undefined): ThreatSpec {
  if (kind === "unconstrained") return { kind };
  if (kind !== "l2" && kind !== "linf") throw new Error(`unknown threat model "${kind}" (expected l2, linf or unconstrained)`);
  if (eps === undefined || !Number.isFinite(eps) || eps <= 0) throw new Error(`--eps must be a positive number for --threat ${kind}, got ${eps}`);
  return { kind, eps };
}

/** Clamps into the pixel box [0,1]. */
export const clampBox = (g: Builder, x: Value): Value => g.clip(x, g.scalarLike(0, x), g.scalarLike(1, x));

export function l2NormOf(d: ArrayLike<number>): number { let s = 0; for (let i = 0; i < d.length; i++) s += d[i]! * d[i]!; return Math.sqrt(s); }
