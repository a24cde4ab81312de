// What the plots read (browser-safe): eval reports and training metrics, validated, turned into plot rows.

/** One line of `robustlens eval`'s JSON report. */
export interface EvalResult {
  threat: string;
  eps: number | null;
  attack: string;
  steps: number;
  restarts: number;
  step_size: number | null;
  robust_accuracy: number;
}

/** `robustlens eval`'s JSON report. */
export interface EvalReport {
  model: string;
  name?: string;
  data: string;
  images: number;
  clean_accuracy: number;
  results: EvalResult[];
  seconds?: number;
}

/** The fields of a training epoch (metrics.jsonl) the plots use. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  train_loss: number;
  train_acc: number;
  test_acc: number;
  adv_acc: number | null;
}

/** Short display name of a model file: its folder for zoo layouts (models/NAME/model.onnx), else the file's base name. */
export function modelDisplayName(path: string): string {
  const parts = path.split(/[\\/]+/).filter(Boolean);
  const file = (parts.at(-1) ?? path).replace(/\.[^.]*$/, "");
  return file === "model" && parts.length > 1 ? parts.at(-2)! : file;
}

const isFraction = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1;

/** Checks a parsed eval report; errors name the file and the field. */
export function parseEvalReport(json: unknown, file: string): EvalReport {
  const r = json as Partial<EvalReport> | null;
  if (!r || typeof r !== "object") throw new Error(`${file}: not an eval report (expected a JSON object)`);
  if (typeof r.model !== "string") throw new Error(`${file}: eval report has no "model" string`);
  if (!isFraction(r.clean_accuracy))
    throw new Error(`${file}: "clean_accuracy" must be a number in [0,1], got ${JSON.stringify(r.clean_accuracy)}`);
  if (!Array.isArray(r.results)) throw new Error(`${file}: eval report has no "results" array`);
  r.results.forEach((x, i) => {
    if (!x || typeof x.attack !== "string" || typeof x.threat !== "string")
      throw new Error(`${file}: results[${i}] needs "attack" and "threat" strings`);
    if (!isFraction(x.robust_accuracy))
      throw new Error(`${file}: results[${i}].robust_accuracy must be a number in [0,1], got ${JSON.stringify(x.robust_accuracy)}`);
    if (x.eps !== null && !(typeof x.eps === "number" && Number.isFinite(x.eps) && x.eps > 0))
      throw new Error(`${file}: results[${i}].eps must be a positive number or null, got ${JSON.stringify(x.eps)}`);
  });
  return r as EvalReport;
}

/** Parses metrics.jsonl (one epoch per line); errors name the file and the line. */
export function parseMetricsJsonl(text: string, file: string): EpochRecord[] {
  const out: EpochRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let m: Partial<EpochRecord>;
    try {
      m = JSON.parse(line);
    } catch {
      throw new Error(`${file}:${i + 1}: not JSON`);
    }
    for (const k of ["epoch", "lr", "train_loss", "train_acc", "test_acc"] as const) {
      if (typeof m[k] !== "number" || !Number.isFinite(m[k]))
        throw new Error(`${file}:${i + 1}: "${k}" must be a finite number, got ${JSON.stringify(m[k])}`);
    }
    if (m.adv_acc !== null && typeof m.adv_acc !== "number") throw new Error(`${file}:${i + 1}: "adv_acc" must be a number or null`);
    out.push({
      epoch: m.epoch!,
      lr: m.lr!,
      train_loss: m.train_loss!,
      train_acc: m.train_acc!,
      test_acc: m.test_acc!,
      adv_acc: m.adv_acc ?? null,
    });
  });
  return out;
}

/** The attack as a paper would name it: PGD-20, APGD-CE-20, FGSM; restarts as ×R. */
export function attackLabel(attack: string, steps: number, restarts = 1): string {
  const base = attack === "fgsm" ? "FGSM" : `${attack.toUpperCase()}-${steps}`;
  return restarts > 1 ? `${base} ×${restarts}` : base;
}

/** One point of an accuracy-vs-ε curve (accuracy in [0,1]). */
export interface RobustnessPoint {
  model: string;
  attack: string;
  eps: number;
  accuracy: number;
}

/** An eval report's curves: per attack, clean accuracy at ε = 0, then its robust accuracy at each ε (unconstrained results have no ε and are left out). */
export function robustnessPoints(report: EvalReport, name = report.name ?? modelDisplayName(report.model)): RobustnessPoint[] {
  const byAttack = new Map<string, RobustnessPoint[]>();
  for (const r of report.results) {
    if (r.eps === null) continue;
    const attack = attackLabel(r.attack, r.steps, r.restarts);
    if (!byAttack.has(attack)) byAttack.set(attack, [{ model: name, attack, eps: 0, accuracy: report.clean_accuracy }]);
    byAttack.get(attack)!.push({ model: name, attack, eps: r.eps, accuracy: r.robust_accuracy });
  }
  return [...byAttack.values()].flatMap((pts) => pts.sort((a, b) => a.eps - b.eps));
}

/** The threat kind shared by a report's constrained results (undefined when it has none). */
export function reportThreat(report: EvalReport): string | undefined {
  return report.results.find((r) => r.eps !== null)?.threat;
}
