// The explorer's whole state as URL parameters (shareable; tests and scripts drive the page with ?...&autorun=1).
import { EXPLORER_DEFAULTS, type ExperimentKind } from "./experiments.js";

export const EXPERIMENTS: readonly ExperimentKind[] = ["invert", "ood", "interpolate", "feature", "paint", "sketch", "attack", "saliency"];

export interface State {
  experiment: ExperimentKind;
  /** Two model names from models/index.json (or dropped files' names). */
  models: string[];
  /** Indices into the shipped test subset. */
  targets: number[];
  /** Seed images for inversion "from another image" (indices into the subset); empty = noise/gray start. */
  from: number[];
  start: "noise" | "gray";
  steps: number;
  stepSize: number;
  eps: number;
  seed: number;
  frames: number;
  /** Unit of R, or null: per model, the one varying most over the shipped subset. */
  feature: number | null;
  count: number;
  /** Sketch-to-image: the class the drawing is pushed to. */
  cls: number;
  threat: "l2" | "linf";
  /** Targeted attack class, or -1 for untargeted. */
  target: number;
  randomStart: boolean;
  /** Paint region as a rectangle x0,y0,x1,y1 in model pixels (exclusive end); the brush replaces it. */
  region: [number, number, number, number];
  backend: "wasm" | "webgpu";
  threads: number;
  autorun: boolean;
}

/** Default settings of an experiment (the paper's, scaled; attacks: ε 1 for L2, 0.1 for L∞, step 2.5·ε/steps). */
export function defaultsFor(kind: ExperimentKind, threat: "l2" | "linf" = "l2"): Pick<State, "steps" | "stepSize" | "eps"> {
  if (kind === "attack") {
    const eps = threat === "l2" ? 1 : 0.1,
      steps = EXPLORER_DEFAULTS.attack.steps;
    return { steps, eps, stepSize: (2.5 * eps) / steps };
  }
  // saliency is one gradient, no search: the step settings are unused
  if (kind === "saliency") return { steps: 0, stepSize: 1, eps: 1 };
  const d = EXPLORER_DEFAULTS[kind];
  return { steps: d.steps, stepSize: d.stepSize, eps: d.eps };
}

export function parseRange(s: string, what: string): number[] {
  const out: number[] = [];
  for (const part of s.split(",").filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`URL parameter ${what}: expected indices like 0-9 or 0,3,5, got "${s}"`);
    const a = Number(m[1]),
      b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 1000) throw new Error(`URL parameter ${what}: bad range "${part}"`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

export const formatRange = (v: number[]): string => {
  const parts: string[] = [];
  for (let i = 0; i < v.length;) {
    let j = i;
    while (j + 1 < v.length && v[j + 1] === v[j]! + 1) j++;
    parts.push(j > i ? `${v[i]}-${v[j]}` : `${v[i]}`);
    i = j + 1;
  }
  return parts.join(",");
};

function num(p: URLSearchParams, key: string, fallback: number, check: (v: number) => boolean, want: string): number {
  const raw = p.get(key);
  if (raw === null || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || !check(v)) throw new Error(`URL parameter ${key}: expected ${want}, got "${raw}"`);
  return v;
}

function oneOf<T extends string>(p: URLSearchParams, key: string, allowed: readonly T[], fallback: T): T {
  const raw = p.get(key);
  if (raw === null || raw === "") return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`URL parameter ${key}: expected ${allowed.join(" | ")}, got "${raw}"`);
  return raw as T;
}

const int = (v: number) => Number.isInteger(v);

/** Parses a query string; every bad parameter is a one-line error naming it. */
export function parseState(search: string): State {
  const p = new URLSearchParams(search);
  const experiment = oneOf(p, "experiment", EXPERIMENTS, "invert");
  const threat = oneOf(p, "threat", ["l2", "linf"] as const, "l2");
  const d = defaultsFor(experiment, threat);
  const models = (p.get("models") ?? "fashion-mnist-standard,fashion-mnist-l2").split(",").filter(Boolean);
  if (models.length < 1 || models.length > 2) throw new Error(`URL parameter models: expected one or two names, got "${p.get("models")}"`);
  const steps = num(p, "steps", d.steps, (v) => int(v) && v >= (experiment === "saliency" ? 0 : 1) && v <= 100000, "a positive integer");
  const defaultStep =
    experiment === "attack" && p.get("eps")
      ? (2.5 * Number(p.get("eps"))) / steps
      : experiment === "attack"
        ? (2.5 * d.eps) / steps
        : d.stepSize;
  const region = (p.get("region") ?? "7,7,21,21").split(",").map(Number);
  if (region.length !== 4 || !region.every((v) => int(v) && v >= 0))
    throw new Error(`URL parameter region: expected x0,y0,x1,y1, got "${p.get("region")}"`);
  const s: State = {
    experiment,
    models,
    threat,
    targets: parseRange(
      p.get("targets") ??
        (experiment === "interpolate"
          ? "0,1"
          : experiment === "paint" || experiment === "feature" || experiment === "sketch"
            ? "0"
            : "0-9"),
      "targets",
    ),
    from: parseRange(p.get("from") ?? "", "from"),
    start: oneOf(p, "start", ["noise", "gray"] as const, "noise"),
    steps,
    stepSize: num(p, "stepSize", defaultStep, (v) => v > 0, "a positive number"),
    eps: num(p, "eps", d.eps, (v) => v > 0, "a positive number"),
    seed: num(p, "seed", 0, int, "an integer"),
    frames: num(p, "frames", 10, (v) => int(v) && v >= 2 && v <= 64, "an integer in 2..64"),
    feature: p.get("feature") === "auto" ? null : num(p, "feature", NaN, (v) => int(v) && v >= 0, "a unit index or auto"),
    count: num(p, "count", 4, (v) => int(v) && v >= 1 && v <= 64, "an integer in 1..64"),
    cls: num(p, "class", 0, (v) => int(v) && v >= 0, "a class index"),
    target: num(p, "target", -1, (v) => int(v) && v >= -1, "a class index or -1"),
    randomStart: p.get("randomStart") === "1",
    region: region as State["region"],
    backend: oneOf(p, "backend", ["wasm", "webgpu"] as const, "wasm"),
    threads: num(p, "threads", 2, (v) => int(v) && v >= 1 && v <= 16, "an integer in 1..16"),
    autorun: p.get("autorun") === "1",
  };
  // NaN marks "not given": auto
  if (Number.isNaN(s.feature)) s.feature = null;
  return s;
}

/** The query string of a state (every setting spelled out, so a shared link does not depend on later defaults). */
export function serializeState(s: State): string {
  const p = new URLSearchParams();
  p.set("experiment", s.experiment);
  p.set("models", s.models.join(","));
  p.set("targets", formatRange(s.targets));
  if (s.from.length) p.set("from", formatRange(s.from));
  p.set("start", s.start);
  for (const k of ["steps", "stepSize", "eps", "seed", "frames", "feature", "count", "target", "threads"] as const)
    p.set(k, String(s[k] ?? "auto"));
  p.set("class", String(s.cls));
  p.set("threat", s.threat);
  if (s.randomStart) p.set("randomStart", "1");
  p.set("region", s.region.join(","));
  p.set("backend", s.backend);
  if (s.autorun) p.set("autorun", "1");
  return p.toString();
}
