// `visualize --features all --queue`: the units in shards of whole search batches; each worker maximizes its range.
import { type Tensor, tensor } from "../../ir/tensor.js";
import { concatBatch, sliceBatch } from "../../ir/batch.js";
import type { Model } from "../../model/model.js";
import { makeSeeds, unitMask } from "../../vis/representation.js";
import { FEED_NAMES, type SearchOptions, VIS_DEFAULTS, featureLoss, searchInChunks } from "../../vis/search.js";
import { UsageError } from "../options.js";
import { session } from "../session.js";
import { type InputCache, type ModelRef, modelRef } from "./inputs.js";
import { runShards } from "./submit.js";

/** The search options that fix a visualization's pixels (plain JSON: no callbacks). */
type PlainSearch = Omit<SearchOptions, "onStep" | "signal">;

export interface VisShard {
  model: ModelRef;
  /** Every feature of the whole job, in output order; the shard does [from, to). */
  features: number[];
  from: number;
  to: number;
  seed: "noise" | "gray";
  options: PlainSearch;
}

/** The default search batch of the visualization tools (searchInChunks). */
const SEARCH_BATCH = 128;

/**
 * Rows [from, to) of visualizeFeature's result for every feature: the same start images (the noise of all features,
 * sliced) and, with `from` a multiple of the batch size, the same search batches — so shards equal the local run.
 */
export async function visualizeRange(model: Model, s: Omit<VisShard, "model">): Promise<{ x: Tensor<"float32">; objective: Float32Array }> {
  const d = VIS_DEFAULTS.visualizeFeature;
  const o = s.options;
  const x0 = sliceBatch(makeSeeds(model, s.seed, s.to, o.rngSeed), s.from, s.to);
  const mask = unitMask(model.representation(o).shape, s.features.slice(s.from, s.to));
  const res = await searchInChunks(session, model, x0, { [FEED_NAMES.mask]: mask }, (rep, f) => featureLoss(rep, f[FEED_NAMES.mask]!), {
    ...o,
    steps: o.steps ?? d.steps,
    stepSize: o.stepSize ?? d.stepSize,
    eps: o.eps ?? d.eps,
  });
  return { x: res.x, objective: res.loss };
}

interface VisResult {
  x: string;
  shape: number[];
  objective: string;
}
const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
const unb64 = (s: string) => {
  const b = Buffer.from(s, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

export async function visualizeSharded(
  f: { queue: string; queueTimeout?: number; shardSize?: number; model: string; seed: string },
  model: Model,
  features: number[],
  seed: "noise" | "gray",
  o: SearchOptions,
): Promise<{ x: Tensor<"float32">; objective: Float32Array; layout: string }> {
  const bs = o.batchSize ?? SEARCH_BATCH;
  const size = f.shardSize ?? bs;
  if (size % bs !== 0)
    throw new UsageError(`--shard-size ${size} must be a multiple of --batch-size ${bs} (shards hold whole search batches)`);
  const ref = await modelRef(f.model);
  const options: PlainSearch = Object.fromEntries(
    Object.entries(o).filter(([k, v]) => v !== undefined && k !== "onStep" && k !== "signal"),
  );
  const shards = [];
  for (let a = 0; a < features.length; a += size) {
    const b = Math.min(features.length, a + size);
    const data: VisShard = { model: ref, features, from: a, to: b, seed, options };
    shards.push({ label: `features ${features[a]}-${features[b - 1]}`, key: `${a}-${b}`, data });
  }
  const content = { model: ref.sha256, features, seed, options };
  const run = await runShards<VisShard, VisResult>(f.queue, "visualize", content, shards, {
    label: "visualize shards",
    downTimeoutS: f.queueTimeout,
  });
  const xs = run.shards.map((s) => tensor("float32", s.result.shape, unb64(s.result.x)) as Tensor<"float32">);
  const objective = new Float32Array(features.length);
  let at = 0;
  for (const s of run.shards) {
    const part = unb64(s.result.objective);
    objective.set(part, at);
    at += part.length;
  }
  const workers = new Set(run.shards.map((s) => s.worker));
  const reused = run.shards.filter((s) => s.reused).length;
  return {
    x: concatBatch(xs),
    objective,
    layout: `${run.shards.length} shards of ${size} features on ${run.queue} (${workers.size} worker${workers.size > 1 ? "s" : ""}${reused ? `, ${reused} reused` : ""})`,
  };
}

/** A worker's part: one shard's images and activations. */
export async function visualizeShard(s: VisShard, inputs: InputCache): Promise<VisResult> {
  const model = await inputs.model(s.model);
  const r = await visualizeRange(model, s);
  return { x: b64(r.x.data), shape: [...r.x.shape], objective: b64(r.objective) };
}
