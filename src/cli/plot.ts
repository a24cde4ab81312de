// `robustlens plot eval` and `robustlens plot train`: overlay eval reports or training runs in one SVG/PNG.
import { statSync } from "node:fs";
import { plotFormat } from "../plot/node/render.js";
import { readEvalReport, readTrainingRun, writeEvalPlot, writeTrainingPlot } from "../plot/node/files.js";

export interface PlotFlags {
  out: string;
  names?: string;
  title?: string;
}

function namesFor(n: number, names: string | undefined, what: string): (string | undefined)[] {
  if (names === undefined) return Array(n).fill(undefined);
  const list = names.split(",").map((s) => s.trim());
  if (list.length !== n || list.some((s) => !s)) throw new Error(`--names: give ${n} non-empty names, one per ${what}, got "${names}"`);
  return list;
}

function size(path: string): string {
  return `${(statSync(path).size / 1024).toFixed(1)} KiB`;
}

export async function plotEvalCommand(files: string[], f: PlotFlags): Promise<void> {
  plotFormat(f.out);
  const names = namesFor(files.length, f.names, "report");
  const reports = await Promise.all(files.map(async (file, k) => ({ file, report: await readEvalReport(file), name: names[k] })));
  await writeEvalPlot(f.out, reports, { title: f.title });
  console.log(`wrote ${f.out} (${size(f.out)}): accuracy vs eps of ${reports.length} model${reports.length > 1 ? "s" : ""}`);
}

export async function plotTrainCommand(dirs: string[], f: PlotFlags): Promise<void> {
  plotFormat(f.out);
  const names = namesFor(dirs.length, f.names, "run");
  const runs = await Promise.all(dirs.map((d, k) => readTrainingRun(d, names[k])));
  await writeTrainingPlot(f.out, runs, { title: f.title });
  console.log(`wrote ${f.out} (${size(f.out)}): training curves of ${runs.length} run${runs.length > 1 ? "s" : ""}`);
}
