// `robustlens eval`: clean and robust accuracy per ε and per attack, with progress and a JSON report.
import { writeAtomic } from "../data/node/atomic.js";
import { ATTACK_METHODS, type AttackMethod, effectiveStepSize } from "../attack/method.js";
import type { ThreatSpec } from "../attack/threat.js";
import { type AttackFlags, threatOf } from "./attack.js";
import { UsageError, requireWith } from "./options.js";
import { checkOutputs } from "./paths.js";
import { loadDataSpec } from "./data-spec.js";
import { checkLabels, modelClasses, readModel } from "./io.js";
import { type EvalCounts, type EvalPlan, evalRange } from "./eval-work.js";
import { progress } from "./progress.js";
import { modelDisplayName } from "../plot/data.js";
import { plotPathFor, writeEvalPlot } from "../plot/node/files.js";
import { plotFormat } from "../plot/node/render.js";

export interface EvalOptions extends AttackFlags {
  model: string;
  data: string;
  eps?: number[];
  attacks: string;
  limit?: number;
  out: string;
  /** Accuracy-vs-ε plot file (.svg/.png); default beside --out; false: none. */
  plot?: string | boolean;
  /** Run the images as shards on queue workers at this Redis URL (robustlens worker). */
  queue?: string;
  /** Images per shard (a multiple of --batch-size). */
  shardSize?: number;
  /** Seconds to wait for an unreachable Redis. */
  queueTimeout?: number;
}

export async function evalCommand(o: EvalOptions): Promise<void> {
  const methods: AttackMethod[] = o.attacks
    .split(",")
    .map((m) => m.trim())
    .map((m) => {
      if (!(ATTACK_METHODS as readonly string[]).includes(m))
        throw new UsageError(`--attacks: unknown attack method "${m}" (expected ${ATTACK_METHODS.join(", ")})`);
      return m as AttackMethod;
    });
  if (new Set(methods).size !== methods.length) throw new UsageError(`--attacks "${o.attacks}" names an attack twice`);
  const threats: ThreatSpec[] =
    o.threat === "unconstrained"
      ? [threatOf(o.threat, o.eps?.[0], methods, o.stepSize)]
      : (o.eps ?? [undefined]).map((e) => threatOf(o.threat, e, methods, o.stepSize));
  const { steps, restarts, batchSize: bs, stepSize } = o;
  const plotPath = o.plot === false || o.threat === "unconstrained" ? undefined : typeof o.plot === "string" ? o.plot : plotPathFor(o.out);
  if (plotPath) plotFormat(plotPath, "--plot");
  requireWith(o.shardSize, "--shard-size", !!o.queue, "needs --queue URL (shards run on queue workers)");
  if (o.queue) (await import("./queue/eval-jobs.js")).checkQueueFlags(o.queue, o.shardSize, bs);
  await checkOutputs([{ flag: "--out", path: o.out }, ...(plotPath ? [{ flag: "--plot", path: plotPath }] : [])], [o.model, o.data]);
  const model = await readModel(o.model);
  const data = await loadDataSpec(o.data);
  const n = Math.min(data.images.shape[0]!, o.limit ?? Infinity);
  if (n === 0) throw new Error(`--data "${o.data}": no images to evaluate`);
  model.checkInput(data.images, o.data);
  checkLabels(data.labels.data, modelClasses(model), `--data "${o.data}"`);
  const runs = threats.flatMap((t) => methods.map((m) => ({ threat: t, method: m })));
  const plan: EvalPlan = { runs, steps, stepSize, restarts, randomStart: !!o.randomStart, seed: o.seed, batchSize: bs };
  const t0 = performance.now();
  let counts: EvalCounts, shards: unknown;
  if (o.queue) {
    // the same work, spread over queue workers in shards of whole batches
    ({ counts, shards } = await (await import("./queue/eval-jobs.js")).evalSharded(o, { data, n, plan }));
  } else {
    const bar = progress(Math.ceil(n / bs) * (runs.length + 1), "eval");
    counts = await evalRange(model, data, plan, { from: 0, to: n }, (d, rate) => bar.update(d, { clean: `${(100 * rate).toFixed(1)}%` }));
    bar.stop();
  }
  const { clean, correct } = counts;
  const seconds = (performance.now() - t0) / 1000;
  const results = runs.map((r, k) => ({
    threat: r.threat.kind,
    eps: "eps" in r.threat ? r.threat.eps : null,
    attack: r.method,
    steps,
    restarts,
    step_size: effectiveStepSize({ ...r, steps, stepSize }) ?? null,
    robust_accuracy: correct[k] / n,
  }));
  const report = {
    model: o.model,
    name: modelDisplayName(o.model),
    data: o.data,
    images: n,
    clean_accuracy: clean / n,
    results,
    seconds,
    ...(shards ? { shards } : {}),
  };
  await writeAtomic(o.out, JSON.stringify(report, null, 2) + "\n");
  console.log(`clean accuracy ${(100 * report.clean_accuracy).toFixed(2)}% on ${n} images`);
  for (const r of results) {
    console.log(
      `${r.attack.padEnd(8)} ${r.threat} eps=${r.eps ?? "-"} steps=${steps}${r.step_size ? ` step=${r.step_size.toPrecision(3)}` : ""}  robust accuracy ${(100 * r.robust_accuracy).toFixed(2)}%`,
    );
  }
  if (plotPath) {
    await writeEvalPlot(plotPath, [{ report, file: o.out }], { option: "--plot" });
    console.log(`wrote ${plotPath} (accuracy vs eps)`);
  }
  console.log(`wrote ${o.out} (${seconds.toFixed(1)} s)`);
}
