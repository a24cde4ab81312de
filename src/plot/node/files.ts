// Plot files from robustlens outputs: eval reports (JSON) and training runs (DIR/metrics.jsonl).
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { fsReason } from "../../data/node/read.js";
import { type EvalReport, parseEvalReport, parseMetricsJsonl, reportThreat, robustnessPoints } from "../data.js";
import { type TrainingRun, robustnessSpec, trainingSpec } from "../specs.js";
import { writePlot } from "./render.js";

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${fsReason(e)}`);
  }
}

export async function readEvalReport(path: string): Promise<EvalReport> {
  const text = await readText(path, "eval report");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not JSON (expected a robustlens eval report)`);
  }
  return parseEvalReport(json, path);
}

/** A run directory's epochs, named after the directory. */
export async function readTrainingRun(dir: string, name = basename(resolve(dir))): Promise<TrainingRun> {
  const file = join(dir, "metrics.jsonl");
  const epochs = parseMetricsJsonl(await readText(file, "training metrics"), file);
  if (epochs.length === 0) throw new Error(`${file}: no epochs yet`);
  return { name, epochs };
}

/** The plot beside a JSON report: x.json → x.svg. */
export const plotPathFor = (jsonPath: string): string => `${jsonPath.replace(/\.json$/i, "")}.svg`;

/** Overlays eval reports (one model each) as accuracy-vs-ε curves; `names` replace the models' display names. */
export async function writeEvalPlot(
  out: string,
  reports: { report: EvalReport; file: string; name?: string }[],
  o: { title?: string; option?: string } = {},
): Promise<void> {
  const threats = reports.map((r) => ({ file: r.file, threat: reportThreat(r.report) }));
  const none = threats.find((t) => t.threat === undefined);
  if (none) throw new Error(`${none.file}: no result has an ε (unconstrained attacks have no accuracy-vs-ε curve)`);
  const other = threats.find((t) => t.threat !== threats[0]!.threat);
  if (other)
    throw new Error(
      `${other.file} is a ${other.threat} evaluation but ${threats[0]!.file} is ${threats[0]!.threat}: one plot has one ε axis`,
    );
  const points = reports.flatMap((r) => robustnessPoints(r.report, r.name));
  const images = [...new Set(reports.map((r) => r.report.images))];
  const subtitle = `clean accuracy at ε = 0; ${images.length === 1 ? `${images[0]} test images` : `${images.join(" / ")} test images`}; ${[...new Set(reports.map((r) => r.report.data))].join(", ")}`;
  await writePlot(out, robustnessSpec(points, { threat: threats[0]!.threat, subtitle, title: o.title }), o.option);
}

export async function writeTrainingPlot(out: string, runs: TrainingRun[], o: { title?: string; option?: string } = {}): Promise<void> {
  await writePlot(out, trainingSpec(runs, { title: o.title }), o.option);
}
