// The work of `eval` over one range of images: the local run calls it once for [0, n), queue workers once per shard.
import { argmaxRows } from "../attack/losses.js";
import { type AttackMethod, runAttack } from "../attack/method.js";
import type { ThreatSpec } from "../attack/threat.js";
import { sliceBatch } from "../ir/batch.js";
import type { Tensor } from "../ir/tensor.js";
import type { Model } from "../model/model.js";
import { forward } from "../model/forward.js";
import type { LabeledImages } from "./data-spec.js";
import { session } from "./session.js";

/** Everything that fixes an eval's numbers besides the model and the data (plain JSON: it travels in queue jobs). */
export interface EvalPlan {
  runs: { threat: ThreatSpec; method: AttackMethod }[];
  steps: number;
  stepSize?: number;
  restarts: number;
  randomStart: boolean;
  seed: number;
  batchSize: number;
}

/** Counts over a range: clean-correct images and, per run, images still correct under attack. */
export interface EvalCounts {
  images: number;
  clean: number;
  correct: number[];
}

/**
 * Evaluates images [from, to). Batches start at multiples of the batch size and every example's random start is seeded
 * by its global index, so any split of [0, n) at batch boundaries gives the same counts as one pass.
 */
export async function evalRange(
  model: Model,
  data: LabeledImages,
  plan: EvalPlan,
  range: { from: number; to: number },
  onBatch?: (done: number, cleanRate: number) => void,
): Promise<EvalCounts> {
  const bs = plan.batchSize;
  if (range.from % bs !== 0) throw new Error(`internal: eval range starts at ${range.from}, not a multiple of the batch size ${bs}`);
  const counts: EvalCounts = { images: 0, clean: 0, correct: new Array(plan.runs.length).fill(0) };
  let done = 0;
  for (let i = range.from; i < range.to; i += bs) {
    const j = Math.min(range.to, i + bs);
    const xb = sliceBatch(data.images, i, j),
      yb = sliceBatch(data.labels, i, j);
    const y = Array.from(yb.data, Number);
    const pred = argmaxRows(finiteLogits(await forward(session, model, xb), i, data.name));
    counts.clean += pred.filter((p, k) => p === y[k]).length;
    onBatch?.(++done, counts.clean / (j - range.from));
    for (let r = 0; r < plan.runs.length; r++) {
      const res = await runAttack(session, model, xb, {
        ...plan.runs[r]!,
        labels: yb,
        steps: plan.steps,
        stepSize: plan.stepSize,
        restarts: plan.restarts,
        randomStart: plan.randomStart,
        keep: "best",
        seed: plan.seed,
        exampleOffset: i,
      });
      counts.correct[r] += argmaxRows(finiteLogits(res.logits, i, data.name)).filter((p, k) => p === y[k]).length;
      onBatch?.(++done, counts.clean / (j - range.from));
    }
    counts.images += j - i;
  }
  return counts;
}

/** Non-finite logits would count as some class: refuse them, naming the image. */
function finiteLogits(logits: Tensor, from: number, data: string): Tensor {
  const c = logits.shape[1]!;
  const bad = (logits.data as Float32Array).findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new Error(`--data "${data}": image ${from + Math.floor(bad / c)}: the model's logits are not finite (pixels far outside [0,1]?)`);
  return logits;
}
