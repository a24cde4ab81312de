// `robustlens report`: every representation experiment for each model, side by side, as DIR/index.html + figures + metrics.json.
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { writeAtomic } from "../data/node/atomic.js";
import { gridRows } from "../image/grid.js";
import { writePng } from "../image/node/png.js";
import { renderReport } from "../report/html.js";
import { type ReportSteps, reportSteps } from "../report/experiments.js";
import { type ModelRun, metricRows, reportFigures, reportNumbers, reportWork, runReport } from "../report/run.js";
import { session } from "./session.js";
import type { ReportLayout } from "./queue/report-jobs.js";
import { UsageError } from "./options.js";
import { checkOutputs } from "./paths.js";
import { progress } from "./progress.js";
import { PAIRS, reportImages } from "./report-inputs.js";
import { ROBUSTNESS_SOURCES, type RobustnessSource, parseEpsList, writeReportPlots } from "./report-plots.js";
import { gridScale, loadModel } from "./vis-common.js";

export interface ReportFlags {
  models: string;
  data: string;
  out: string;
  ood?: string;
  judge?: string;
  title?: string;
  scale: number;
  count: number;
  robustness?: string;
  evalEps?: string;
  /** Run the experiments as shards on queue workers at this Redis URL (robustlens worker). */
  queue?: string;
  /** Seconds to wait for an unreachable Redis. */
  queueTimeout?: number;
}

export { onePerClass } from "./report-inputs.js";

export async function reportCommand(f: ReportFlags): Promise<void> {
  const started = Date.now();
  const { scale, count } = f;
  if (count < 2 * PAIRS)
    throw new UsageError(`--count must be at least ${2 * PAIRS} (the interpolation figure uses ${PAIRS} pairs of targets), got ${count}`);
  const source = (f.robustness ?? "auto") as RobustnessSource;
  if (!ROBUSTNESS_SOURCES.includes(source))
    throw new UsageError(`--robustness must be one of ${ROBUSTNESS_SOURCES.join(", ")}, got "${f.robustness}"`);
  parseEpsList(f.evalEps ?? "0.25,0.5,1,2");
  if (f.queue) (await import("./queue/connection.js")).queueTarget(f.queue);
  const paths = f.models.split(",").filter(Boolean);
  if (paths.length === 0) throw new UsageError("--models: give at least one model");
  await checkOutputs(
    [{ flag: "--out", path: f.out, kind: "dir", dirFiles: ["index.html", "metrics.json", "figures", "eval"] }],
    [...paths, f.data, f.ood, f.judge],
  );
  const models = await Promise.all(paths.map(loadModel));
  const shape = models[0]!.shape;
  for (const m of models) {
    if (m.shape.channels !== shape.channels || m.shape.height !== shape.height || m.shape.width !== shape.width) {
      throw new Error(
        `--models: ${m.path} takes [${m.shape.channels},${m.shape.height},${m.shape.width}] but ${models[0]!.path} takes [${shape.channels},${shape.height},${shape.width}]; report models must share an input shape`,
      );
    }
  }
  const judge = f.judge ? await loadModel(f.judge) : undefined;
  const images = await reportImages(f, shape);
  const { inputs, targetIdx } = images;
  const labels = inputs.dataLabels;
  const cfg = { scale, features: 5, topK: 5, addCount: 5 };
  const judges = judge ? models.map(() => judge) : undefined;
  let runs: ModelRun[], layout: ReportLayout | undefined;
  if (f.queue) {
    // the experiments run on queue workers; judging (forward passes) and writing stay here
    const q = await import("./queue/report-jobs.js");
    const sharded = await q.reportSharded({ ...f, queue: f.queue }, models, images, cfg);
    layout = sharded.layout;
    runs = await runReport(session, models, inputs, cfg, { judges, experiments: q.replayed(models, sharded.results) });
  } else {
    const per = reportWork(cfg);
    const bar = progress(per * models.length, "report");
    let t0 = Date.now();
    runs = await runReport(session, models, inputs, cfg, {
      judges,
      onModel: (k, d) => bar.update(k * per + d, { model: models[k]!.name }),
      onModelDone: (k) => {
        process.stderr.write(`report: ${models[k]!.name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        t0 = Date.now();
      },
    });
    bar.stop();
  }

  // the CLI only writes files: one grid PNG per (experiment, model), the page, the numbers
  const dir = resolve(f.out);
  await mkdir(join(dir, "figures"), { recursive: true });
  const src = (id: string, k: number) => `figures/${k}-${id}.png`;
  const scaleOf = gridScale(models[0]!);
  for (const [k, run] of runs.entries()) {
    for (const [id, r] of run.results) if (r.rows) await writePng(join(dir, src(id, k)), gridRows(r.rows, { scale: scaleOf }));
  }
  const figures = reportFigures(runs, src);
  const plots = await writeReportPlots(dir, {
    models,
    runs,
    figures,
    source,
    data: f.data,
    eps: f.evalEps ?? "0.25,0.5,1,2",
    queue: f.queue === undefined ? undefined : { url: f.queue, timeoutS: f.queueTimeout },
  });
  const classes = models[0]!.classes ?? images.classes;
  const steps = reportSteps(scale);
  const doc = {
    title: f.title ?? `robustlens report: ${models.map((m) => m.name).join(" vs ")}`,
    subtitle: `${f.data}: ${targetIdx.length} targets (${targetIdx.map((i) => classes?.[labels[i]!] ?? labels[i]).join(", ")}), ranking and accuracy on the first ${labels.length} test images; generated ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    models: models.map((m) => ({ name: m.name, detail: m.path })),
    metrics: metricRows(runs),
    figures,
    plots,
    notes: [...notes(steps, scale, f, runs), ...(layout ? [shardNote(layout)] : [])],
  };
  await writeAtomic(join(dir, "index.html"), renderReport(doc));
  const numbers = reportNumbers(runs);
  await writeAtomic(
    join(dir, "metrics.json"),
    `${JSON.stringify(
      {
        data: f.data,
        steps,
        models: models.map((m, k) => ({ name: m.name, path: m.path, judge: numbers[k]!.judge, ...numbers[k]!.experiments })),
        ...(layout ? { shards: layout } : {}),
      },
      null,
      2,
    )}\n`,
  );
  console.log(doc.metrics.map((r) => `${r.label.padEnd(44)} ${r.values.map((v) => v.padStart(14)).join(" ")}`).join("\n"));
  console.log(`report written to ${join(dir, "index.html")} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Where each shard of a queued report ran, one line for the page. */
function shardNote(l: ReportLayout): string {
  const workers = new Set(l.list.map((s) => s.worker));
  const reused = l.list.filter((s) => s.reused).length;
  return `Sharded: ${l.list.length} shards (one per model and experiment) on ${l.queue}, ${workers.size} worker${workers.size === 1 ? "" : "s"}${reused ? `, ${reused} reused from an earlier submission` : ""}; the layout is in metrics.json (shards).`;
}

function notes(s: ReportSteps, scale: number, f: ReportFlags, runs: readonly ModelRun[]): string[] {
  return [
    `Searches: L2 steps per example (x ← x ± α·g/‖g‖₂), best iterate kept, fake-ReLU on the last ReLU before R; step counts ×${scale} of the paper's: inversion ${s.invert} (α = 1, ε = 1000), OOD ${s.ood}, interpolation ${s.interpolate} (α = 0.1), feature visualization ${s.visualize} (α = 1), maximizing inputs ${s.maximizing} (α = 0.5, ε = 500), feature addition ${s.add} (α = 0.1).`,
    `Synthesis (docs/design.md §9, ε and α scaled by sqrt(d/d_ref)): generation ${s.generate} steps from class Gaussians fitted to the data images, inpainting ${s.inpaint} steps (λ = 10, fake ReLU, steps confined to the square), super-resolution ${s.superResolve}, translation to the next class ${s.translate}, sketches (outlines of the targets) ${s.sketch}; the judge is the other model.`,
    `Data: ${f.data}; OOD targets: ${f.ood ?? "synthetic shapes"}; label agreement judges: ${runs.map((r) => r.judge ?? "none").join(", ")}.`,
    "Relative rep distance ‖R(x) − R(t)‖/‖R(t)‖; SSIM with an 11×11 Gaussian window (σ = 1.5) on [0,1] pixels, per channel, averaged; RMSE over pixels.",
    "Every model gets the same targets and seeds; all numbers are in metrics.json.",
  ];
}
