// `report --queue`: each model's experiments as shards (one per experiment; one that reads an earlier one's results runs in
// its shard) on workers; the submitter then judges and writes the report exactly as the local run does.
import { createHash } from "node:crypto";
import type { Tensor } from "../../ir/tensor.js";
import { EXPERIMENTS, type Experiment, type ExperimentResult, type ReportConfig } from "../../report/experiments.js";
import { runModel } from "../../report/run.js";
import { type ImageShape, type ReportImages, reportImages } from "../report-inputs.js";
import { session } from "../session.js";
import type { LoadedModel } from "../vis-common.js";
import { type InputCache, type ModelRef, absoluteImages, modelRef } from "./inputs.js";
import { runShards } from "./submit.js";
import { fromWire, toWire } from "./wire.js";

/** The report's images as a job names them: the IMAGES arguments with absolute paths and the hash of what they gave. */
export interface ImagesRef {
  data: string;
  ood?: string;
  count: number;
  shape: ImageShape;
  sha256: string;
}

export interface ReportShard {
  model: ModelRef;
  images: ImagesRef;
  cfg: ReportConfig;
  /** Experiment ids, in the order they run. */
  experiments: string[];
}

/** Experiments that read an earlier one's results (ExperimentContext.earlier): they run in that one's shard. */
const AFTER: Readonly<Record<string, string>> = { add: "features" };

/** The experiments cut into shards: one each, except that one reading another's results joins its shard. */
export function experimentGroups(experiments: readonly Experiment[] = EXPERIMENTS): string[][] {
  const groups: string[][] = [];
  for (const e of experiments) {
    const joins = groups.find((g) => g.includes(AFTER[e.id] ?? "\0"));
    if (joins) joins.push(e.id);
    else groups.push([e.id]);
  }
  return groups;
}

/** Hashes every tensor and label of the report's images (any changed pixel, label or choice of targets changes it). */
export function imagesHash(r: ReportImages): string {
  const h = createHash("sha256");
  const t = (x: Tensor) => {
    h.update(JSON.stringify(x.shape));
    h.update(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
  };
  const i = r.inputs;
  for (const x of [i.targets, i.ood, i.from, i.to, i.data]) t(x);
  h.update(JSON.stringify([i.targetLabels, i.dataLabels, r.targetIdx]));
  return h.digest("hex");
}

/** One shard's experiment results, per model index. */
export type ShardedResults = Map<string, ExperimentResult>[];

export interface ReportLayout {
  queue: string;
  list: { model: string; experiments: string[]; job: string; worker: string | null; attempts: number; reused: boolean }[];
}

/** Runs every (model, experiment group) on the queue's workers and returns each model's results by experiment id. */
export async function reportSharded(
  f: { queue: string; queueTimeout?: number; data: string; ood?: string; count: number },
  models: readonly LoadedModel[],
  images: ReportImages,
  cfg: ReportConfig,
): Promise<{ results: ShardedResults; layout: ReportLayout }> {
  const cwd = process.cwd();
  const ref: Omit<ImagesRef, "sha256"> = {
    data: absoluteImages(f.data, cwd).arg,
    ood: f.ood === undefined ? undefined : absoluteImages(f.ood, cwd).arg,
    count: f.count,
    shape: models[0]!.shape,
  };
  const sha256 = imagesHash(images);
  const refs = await Promise.all(models.map((m) => modelRef(m.path)));
  const groups = experimentGroups();
  const shards = refs.flatMap((model, k) =>
    groups.map((experiments) => ({
      label: `${models[k]!.name} ${experiments.join("+")}`,
      key: `${k}-${experiments.join("+")}`,
      data: { model, images: { ...ref, sha256 }, cfg, experiments } satisfies ReportShard,
    })),
  );
  // what fixes the numbers: model bytes, images, settings (not paths), so a resubmission reuses finished shards
  const content = { models: refs.map((r) => r.sha256), images: sha256, cfg };
  const run = await runShards<ReportShard, unknown>(f.queue, "report", content, shards, {
    label: "report shards",
    downTimeoutS: f.queueTimeout,
  });
  const results: ShardedResults = models.map(() => new Map());
  for (const [s, rec] of run.shards.entries()) {
    const k = Math.floor(s / groups.length);
    const got = fromWire(rec.result) as Record<string, ExperimentResult>;
    for (const id of groups[s % groups.length]!) {
      if (!got[id]) throw new Error(`internal: shard ${rec.label} returned no result for experiment ${id}`);
      results[k]!.set(id, got[id]);
    }
  }
  return {
    results,
    layout: {
      queue: run.queue,
      list: run.shards.map((s, i) => ({
        model: models[Math.floor(i / groups.length)]!.name,
        experiments: groups[i % groups.length]!,
        job: s.job,
        worker: s.worker,
        attempts: s.attempts,
        reused: s.reused,
      })),
    },
  };
}

/**
 * The report's experiments with each run replaced by the worker's result for that model: runReport over them assembles
 * and judges the runs as the local report does.
 */
export function replayed(models: readonly LoadedModel[], results: ShardedResults): Experiment[] {
  return EXPERIMENTS.map((e) => ({
    ...e,
    run: async (ctx) => {
      const k = models.findIndex((m) => m.model === ctx.model);
      const r = results[k]?.get(e.id);
      if (!r) throw new Error(`internal: no sharded result of experiment ${e.id} for model ${k}`);
      return r;
    },
  }));
}

/** A worker's part: the shard's experiments for its model, on images it loads itself and checks against the hash. */
export async function reportShard(s: ReportShard, inputs: InputCache): Promise<unknown> {
  const model = await inputs.model(s.model);
  const images = await inputs.memo(`report-images\0${s.images.sha256}`, async () => {
    for (const p of [s.images.data, s.images.ood].flatMap((a) => (a === undefined ? [] : absoluteImages(a, "/").paths)))
      await inputs.allow.check("images", p);
    const r = await reportImages(s.images, s.images.shape);
    if (imagesHash(r) !== s.images.sha256)
      throw new Error(
        `report images "${s.images.data}"${s.images.ood ? ` / "${s.images.ood}"` : ""} on this worker differ from the submitter's`,
      );
    return r;
  });
  const experiments = s.experiments.map((id) => {
    const e = EXPERIMENTS.find((x) => x.id === id);
    if (!e) throw new Error(`report experiment "${id}" is unknown to this worker (an older robustlens?)`);
    return e;
  });
  const results = await runModel(session, model, images.inputs, s.cfg, { experiments });
  return toWire(Object.fromEntries(results));
}
