// The report's plots on disk: accuracy vs ε (shipped eval.json or a short built-in eval), objective curves, zoo training curves.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { EvalReport } from "../plot/data.js";
import { readEvalReport, readTrainingRun } from "../plot/node/files.js";
import { writePlot } from "../plot/node/render.js";
import type { TrainingRun } from "../plot/specs.js";
import type { ModelRun } from "../report/run.js";
import type { Figure, PlotSection } from "../report/html.js";
import { objectivePlots, robustnessPlot, trainingPlot } from "../report/plots.js";
import { evalCommand } from "./eval.js";
import type { LoadedModel } from "./vis-common.js";

export const ROBUSTNESS_SOURCES = ["auto", "shipped", "builtin", "none"] as const;
export type RobustnessSource = (typeof ROBUSTNESS_SOURCES)[number];

/** Settings of the built-in eval (when a model ships no eval.json): short, so a report stays quick. */
export const BUILTIN_EVAL = { attacks: "pgd", steps: 20, limit: 200 } as const;

const BUILTIN_BATCH = 100;

/** report --queue: where the built-in eval's shards go. */
export interface ReportQueue {
  url: string;
  timeoutS?: number;
}

/** Each model's eval.json beside its model file, or undefined where one is missing. */
export const shippedEvalPath = (modelPath: string): string => join(dirname(modelPath), "eval.json");

/**
 * Where the accuracy-vs-ε curves come from: "shipped" needs every model's eval.json, "auto" takes them when all exist (one
 * protocol for all curves) and else runs the built-in eval for every model.
 */
export function chooseRobustness(source: RobustnessSource, modelPaths: readonly string[]): "shipped" | "builtin" | "none" {
  if (source === "none" || source === "builtin") return source;
  const missing = modelPaths.filter((p) => !existsSync(shippedEvalPath(p)));
  if (source === "shipped" && missing.length)
    throw new Error(`--robustness shipped: no eval.json beside ${missing.join(", ")} (run robustlens eval, or use --robustness builtin)`);
  return missing.length ? "builtin" : "shipped";
}

/** --eval-eps: positive radii, comma-separated. */
export function parseEpsList(list: string): number[] {
  const eps = list.split(",").map((e) => Number(e.trim()));
  if (eps.length === 0 || eps.some((e) => !(Number.isFinite(e) && e > 0)))
    throw new Error(`--eval-eps: give positive radii, comma-separated, got "${list}"`);
  return eps;
}

/** Per model, its eval report: read from eval.json beside it, or computed now into DIR/eval/K-NAME.json. */
export async function evalReports(
  how: "shipped" | "builtin",
  models: LoadedModel[],
  dir: string,
  data: string,
  eps: string,
  queue?: ReportQueue,
): Promise<{ name: string; report: EvalReport }[]> {
  if (how === "shipped")
    return Promise.all(models.map(async (m) => ({ name: m.name, report: await readEvalReport(shippedEvalPath(m.path)) })));
  await mkdir(join(dir, "eval"), { recursive: true });
  const out: { name: string; report: EvalReport }[] = [];
  for (const [k, m] of models.entries()) {
    const file = join(dir, "eval", `${k}-${m.name}.json`);
    process.stderr.write(
      `report: built-in eval of ${m.name} (L2 PGD-${BUILTIN_EVAL.steps}, eps ${eps}, first ${BUILTIN_EVAL.limit} images)\n`,
    );
    await evalCommand({
      model: m.path,
      data,
      threat: "l2",
      eps: parseEpsList(eps),
      attacks: BUILTIN_EVAL.attacks,
      steps: BUILTIN_EVAL.steps,
      restarts: 1,
      limit: BUILTIN_EVAL.limit,
      batchSize: BUILTIN_BATCH,
      out: file,
      seed: 0,
      plot: false,
      // with report --queue the built-in eval runs on the workers too, one shard per batch
      ...(queue ? { queue: queue.url, queueTimeout: queue.timeoutS, shardSize: BUILTIN_BATCH } : {}),
    });
    out.push({ name: m.name, report: await readEvalReport(file) });
  }
  return out;
}

/** Writes the plots under DIR/figures and returns the page's plot sections; objective plots are attached to their figures. */
export async function writeReportPlots(
  dir: string,
  o: {
    models: LoadedModel[];
    runs: ModelRun[];
    figures: Figure[];
    source: RobustnessSource;
    data: string;
    eps: string;
    queue?: ReportQueue;
  },
): Promise<PlotSection[]> {
  const names = o.models.map((m) => m.name);
  for (const [figure, plots] of objectivePlots(o.runs)) {
    const fig = o.figures.find((f) => f.id === figure);
    if (!fig) throw new Error(`internal: objective plot for unknown figure "${figure}"`);
    for (const p of plots) {
      const src = `figures/objective-${figure}-${p.name}.svg`;
      await writePlot(join(dir, src), p.spec);
      (fig.plots ??= []).push({
        src,
        alt: `objective per step: ${names.join(", ")}`,
        note: p.left.length ? `left out (non-finite): ${p.left.join(", ")}` : undefined,
      });
    }
  }
  const sections: PlotSection[] = [];
  const how = chooseRobustness(
    o.source,
    o.models.map((m) => m.path),
  );
  if (how !== "none") {
    const reports = await evalReports(how, o.models, dir, o.data, o.eps, o.queue);
    const src = "figures/robustness.svg";
    const from = how === "shipped" ? "from the models' eval.json" : `built-in eval: L2 PGD-${BUILTIN_EVAL.steps}`;
    await writePlot(join(dir, src), robustnessPlot(reports, from));
    sections.push({
      id: "robustness",
      title: "Accuracy under attack",
      position: "top",
      plot: { src, alt: `accuracy against eps: ${names.join(", ")}` },
      caption: `Accuracy against the attack radius ε for each model and attack (${how === "shipped" ? from : `${from} on the first ${BUILTIN_EVAL.limit} images of ${o.data}`}); ε = 0 is clean accuracy.`,
    });
  }
  const runs: TrainingRun[] = [];
  for (const m of o.models)
    if (existsSync(join(dirname(m.path), "metrics.jsonl"))) runs.push(await readTrainingRun(dirname(m.path), m.name));
  if (runs.length) {
    const src = "figures/training.svg";
    await writePlot(join(dir, src), trainingPlot(runs));
    sections.push({
      id: "training",
      title: "Training curves",
      position: "end",
      plot: { src, alt: `training curves: ${runs.map((r) => r.name).join(", ")}` },
      caption: `From each model's metrics.jsonl (${runs.map((r) => r.name).join(", ")}): training loss, clean and adversarial (PGD-10 at the training ε, first 1000 test images) accuracy, learning rate.`,
    });
  }
  return sections;
}
