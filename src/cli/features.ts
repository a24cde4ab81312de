// `robustlens visualize` and `robustlens add-feature`: maximize units of R, rank dataset images by them, add them to images.
import type { Tensor } from "../ir/tensor.js";
import { session } from "./session.js";
import { addFeature, rankByFeature, visualizeFeature } from "../vis/features.js";
import { type Seed, featureActivations, representationOf, unitMask } from "../vis/representation.js";
import { concatBatch, interleaveRows, pickBatch } from "../ir/batch.js";
import { VIS_DEFAULTS } from "../vis/search.js";
import { UsageError, checkBatchMemory, requireWith } from "./options.js";
import {
  type SearchFlags,
  checkVisOutputs,
  fmt,
  gridScale,
  loadModel,
  readImagesArg,
  searchOptions,
  withProgress,
  writeOutputs,
} from "./vis-common.js";

/** "3,7,12" → [3, 7, 12]; every entry a non-negative integer. */
export function parseFeatures(v: string, flag: string): number[] {
  const out = v.split(",").map((s) => s.trim());
  if (!out.length || out.some((s) => !/^\d+$/.test(s))) throw new Error(`${flag} must be comma-separated feature indices, got "${v}"`);
  return out.map(Number);
}

export interface VisualizeFlags extends SearchFlags {
  model: string;
  features: string;
  seed: string;
  maximizing?: boolean;
  top?: number;
  data?: string;
  out: string;
  /** Run the searches as shards on queue workers at this Redis URL. */
  queue?: string;
  /** Features per shard (a multiple of --batch-size). */
  shardSize?: number;
}

export async function visualizeCommand(f: VisualizeFlags): Promise<void> {
  const all = f.features.trim() === "all";
  let features = all ? [] : parseFeatures(f.features, "--features");
  const top = f.top;
  if (top !== undefined && !f.data) throw new UsageError("--top needs --data SPEC (the images to rank)");
  if (f.data && top === undefined) throw new UsageError("--data applies with --top K only (the images to rank)");
  if (new Set(features).size !== features.length) throw new UsageError(`--features "${f.features}" names a feature twice`);
  const imageSeed = f.seed !== "noise" && f.seed !== "gray";
  requireWith(f.shardSize, "--shard-size", !!f.queue, "needs --queue URL (shards run on queue workers)");
  if (f.queue && imageSeed) throw new UsageError("--queue: visualize shards start from --seed noise or gray, not images");
  if (f.queue) (await import("./queue/connection.js")).queueTarget(f.queue);
  await checkVisOutputs(f.out, [f.model, imageSeed ? f.seed : undefined, f.data]);
  const m = await loadModel(f.model);
  const rep = m.model.representation({ rep: f.rep });
  if (all) features = Array.from({ length: rep.shape[0]! }, (_, k) => k);
  for (const ft of features)
    if (ft >= rep.shape[0]!)
      throw new Error(`--features: ${ft} is out of range: representation "${rep.name}" has ${rep.shape[0]} features`);
  // the paper's "maximizing inputs": a gray start with a tighter, longer search
  const o = { ...(f.maximizing ? VIS_DEFAULTS.maximizingInput : {}), ...stripUndefined(searchOptions(f)) };
  let seed: Seed = f.maximizing && f.seed === "noise" ? "gray" : "noise";
  if (f.seed === "gray") seed = "gray";
  else if (f.seed !== "noise") seed = (await readImagesArg(f.seed, m)).x;
  checkBatchMemory(
    features.length * (typeof seed === "string" ? 1 : seed.shape[0]!),
    m.shape.channels * m.shape.height * m.shape.width,
    `--features (${features.length})`,
  );
  // with --queue the same search runs on workers, in shards of whole search batches
  const sharded = f.queue
    ? await (await import("./queue/vis-jobs.js")).visualizeSharded({ ...f, queue: f.queue }, m.model, features, seed as "noise" | "gray", o)
    : undefined;
  const res = sharded ?? (await withProgress("visualize", o, (oo) => visualizeFeature(session, m.model, features, seed, oo)));
  const seeds = res.x.shape[0]! / features.length;
  // one grid row per feature: its visualizations (one per seed), then the top and bottom dataset images
  const visOf = (k: number) =>
    pickBatch(
      res.x,
      Array.from({ length: seeds }, (_, s) => s * features.length + k),
    );
  const rows: Tensor<"float32">[] = [];
  const lines: string[] = [];
  const data = top !== undefined ? await readImagesArg(f.data!, m) : undefined;
  if (data && top! > data.x.shape[0]!) throw new Error(`--top ${top}: --data "${f.data}" has only ${data.x.shape[0]} images`);
  const reps = data && (await representationOf(session, m.model, data.x, { rep: f.rep }));
  for (const [k, ft] of features.entries()) {
    const reached = Array.from({ length: seeds }, (_, s) => res.objective[s * features.length + k]!);
    let line = `feature ${ft}: activation reached ${reached.map((v) => fmt(v)).join(", ")}`;
    let row = visOf(k);
    if (data && reps) {
      const t = rankByFeature(featureActivations(reps, unitMask(rep.shape, [ft])), top!);
      const best = t.activations[t.top[0]!]!;
      line += `; dataset max ${fmt(best)} (${data.names[t.top[0]!]}), min ${fmt(t.activations[t.bottom[0]!]!)}; reached/max ${fmt(Math.max(...reached) / best, 2)}`;
      row = concatBatch([row, pickBatch(data.x, t.top), pickBatch(data.x, t.bottom)]);
    }
    rows.push(row);
    lines.push(line);
  }
  const p = await writeOutputs(f.out, rows, res.x, gridScale(m));
  if (sharded) lines.push(`(sharded: ${sharded.layout})`);
  console.log(
    `${lines.join("\n")}\n(grid rows: feature; columns: ${seeds} visualization${seeds > 1 ? "s" : ""}${top ? `, top ${top}, bottom ${top} of ${f.data}` : ""}; wrote ${p.png}, ${p.npy})`,
  );
}

export interface AddFeatureFlags extends SearchFlags {
  model: string;
  feature: string;
  images: string;
  level?: number;
  out: string;
}

export async function addFeatureCommand(f: AddFeatureFlags): Promise<void> {
  const [feature] = parseFeatures(f.feature, "--feature");
  const level = f.level;
  await checkVisOutputs(f.out, [f.model, f.images]);
  const m = await loadModel(f.model);
  const images = await readImagesArg(f.images, m);
  const o = searchOptions(f);
  const mask = unitMask(m.model.representation({ rep: f.rep }).shape, [feature!]);
  const before = featureActivations(await representationOf(session, m.model, images.x, { rep: f.rep }), mask);
  const res = await withProgress("add-feature", o, (oo) => addFeature(session, m.model, images.x, feature!, { ...oo, level }));
  const after = featureActivations(await representationOf(session, m.model, res.x, { rep: f.rep }), mask);
  const p = await writeOutputs(f.out, interleaveRows([images.x, res.x], 10), res.x, gridScale(m));
  const lv = level ?? VIS_DEFAULTS.addFeature.level;
  const reached = Array.from(after).filter((v) => v >= lv - 1e-3).length;
  console.log(
    `feature ${feature} (level ${lv}): activation before ${Array.from(before, (v) => fmt(v)).join(", ")}\n` +
      `after ${Array.from(after, (v) => fmt(v)).join(", ")}; ${reached}/${after.length} reached the level  (wrote ${p.png}, ${p.npy})`,
  );
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
