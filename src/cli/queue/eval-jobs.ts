// `eval --queue`: the images in shards of whole batches, each a job a worker runs with evalRange, counts summed here.
import { UsageError } from "../options.js";
import type { LabeledImages } from "../data-spec.js";
import { type EvalCounts, type EvalPlan, evalRange } from "../eval-work.js";
import { type DataRef, type InputCache, type ModelRef, absoluteSpec, dataHash, modelRef } from "./inputs.js";
import { queueTarget } from "./connection.js";
import { runShards } from "./submit.js";

export interface EvalShard {
  model: ModelRef;
  data: DataRef;
  plan: EvalPlan;
  from: number;
  to: number;
}

/** Images per shard when --shard-size is not given: a few batches, so a lost shard costs little. */
const BATCHES_PER_SHARD = 4;

/** Checks --shard-size against the batch size before any work (shards must hold whole batches to equal the local run). */
export function shardSizeOf(shardSize: number | undefined, batchSize: number): number {
  const size = shardSize ?? BATCHES_PER_SHARD * batchSize;
  if (size % batchSize !== 0)
    throw new UsageError(`--shard-size ${size} must be a multiple of --batch-size ${batchSize} (shards hold whole batches)`);
  return size;
}

/** The queue flags, checked before any work. */
export function checkQueueFlags(url: string, shardSize: number | undefined, batchSize: number): void {
  queueTarget(url);
  shardSizeOf(shardSize, batchSize);
}

export async function evalSharded(
  o: { queue?: string; queueTimeout?: number; shardSize?: number; data: string; model: string },
  w: { data: LabeledImages; n: number; plan: EvalPlan },
): Promise<{ counts: EvalCounts; shards: unknown }> {
  const size = shardSizeOf(o.shardSize, w.plan.batchSize);
  const model = await modelRef(o.model);
  const data: DataRef = { spec: absoluteSpec(o.data, process.cwd()).spec, n: w.n, sha256: dataHash(w.data, w.n) };
  const shards = [];
  for (let a = 0; a < w.n; a += size) {
    const b = Math.min(w.n, a + size);
    shards.push({ label: `images ${a}-${b}`, key: `${a}-${b}`, data: { model, data, plan: w.plan, from: a, to: b } satisfies EvalShard });
  }
  // the id hashes what fixes the numbers (content, not paths): the same model and images reuse finished shards
  const content = { model: model.sha256, data: data.sha256, n: w.n, plan: w.plan };
  const run = await runShards<EvalShard, EvalCounts>(o.queue!, "eval", content, shards, {
    label: "eval shards",
    downTimeoutS: o.queueTimeout,
  });
  const counts: EvalCounts = { images: 0, clean: 0, correct: new Array(w.plan.runs.length).fill(0) };
  for (const s of run.shards) {
    counts.images += s.result.images;
    counts.clean += s.result.clean;
    s.result.correct.forEach((c, r) => (counts.correct[r]! += c));
  }
  if (counts.images !== w.n) throw new Error(`internal: shards counted ${counts.images} images, expected ${w.n}`);
  return {
    counts,
    shards: {
      queue: run.queue,
      shard_size: size,
      list: run.shards.map((s) => ({ images: s.key, job: s.job, worker: s.worker, attempts: s.attempts, reused: s.reused })),
    },
  };
}

/** A worker's part: one shard's counts. */
export async function evalShard(s: EvalShard, inputs: InputCache): Promise<EvalCounts> {
  const model = await inputs.model(s.model);
  const data = await inputs.dataset(s.data);
  return evalRange(model, data, s.plan, { from: s.from, to: s.to });
}
