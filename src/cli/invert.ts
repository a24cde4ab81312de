// `robustlens invert` and `robustlens interpolate`: match representations from noise or image seeds, with the metrics.
import { session } from "./session.js";
import { chunkRows, interleaveRows } from "../ir/batch.js";
import { inversionMetrics } from "../report/measure.js";
import { interpolate, invert } from "../vis/invert.js";
import type { Seed } from "../vis/representation.js";
import { labelAgreement } from "../vis/metrics.js";
import { UsageError, checkBatchMemory } from "./options.js";
import {
  type SearchFlags,
  checkVisOutputs,
  fmt,
  gridScale,
  loadModel,
  mean,
  predict,
  readImagesArg,
  searchOptions,
  withProgress,
  writeOutputs,
} from "./vis-common.js";

export interface InvertFlags extends SearchFlags {
  model: string;
  target: string;
  seed: string;
  judge?: string;
  out: string;
  limit?: number;
}

const COLS = 10;

export async function invertCommand(f: InvertFlags): Promise<void> {
  const o = searchOptions(f);
  const imageSeed = f.seed !== "noise" && f.seed !== "gray";
  await checkVisOutputs(f.out, [f.model, f.target, imageSeed ? f.seed : undefined, f.judge]);
  const m = await loadModel(f.model);
  const targets = await readImagesArg(f.target, m, f.limit);
  const n = targets.x.shape[0]!;
  let seed: Seed = "noise";
  if (imageSeed) {
    const s = await readImagesArg(f.seed, m);
    if (s.x.shape[0] !== n && s.x.shape[0] !== 1)
      throw new Error(`--seed "${f.seed}": ${s.x.shape[0]} images for ${n} targets (give one or ${n})`);
    seed = s.x;
  } else seed = f.seed as "noise" | "gray";
  const res = await withProgress("invert", o, (oo) => invert(session, m.model, targets.x, { ...oo, seed }));
  const p = await writeOutputs(f.out, interleaveRows([targets.x, res.x], COLS), res.x, gridScale(m));
  const met = inversionMetrics(targets.x, res.x, res.distance);
  let line = `${n} inversions: relative rep distance ${fmt(met.distance)}  RMSE ${fmt(met.rmse)}  SSIM ${fmt(met.ssim)}`;
  if (f.judge) {
    const judge = await loadModel(f.judge);
    const expected = targets.labels ? Array.from(targets.labels) : await predict(judge, targets.x);
    const agree = labelAgreement(await predict(judge, res.x), expected);
    line += `  label agreement (${judge.name}, ${targets.labels ? "true labels" : "its labels of the targets"}) ${(100 * agree.rate).toFixed(1)}%`;
  }
  console.log(`${line}  (wrote ${p.png}, ${p.npy})`);
}

export interface InterpolateFlags extends SearchFlags {
  model: string;
  from: string;
  to: string;
  frames: number;
  out: string;
}

export async function interpolateCommand(f: InterpolateFlags): Promise<void> {
  const o = searchOptions(f);
  const frames = f.frames;
  if (frames < 2) throw new UsageError(`--frames must be at least 2, got ${frames}`);
  await checkVisOutputs(f.out, [f.model, f.from, f.to]);
  const m = await loadModel(f.model);
  const a = await readImagesArg(f.from, m),
    b = await readImagesArg(f.to, m);
  if (a.x.shape[0] !== b.x.shape[0]) throw new Error(`--from gives ${a.x.shape[0]} images, --to ${b.x.shape[0]}: give pairs`);
  checkBatchMemory(a.x.shape[0]! * frames, a.x.data.length / a.x.shape[0]!, `--frames ${frames} for ${a.x.shape[0]} pairs`);
  const res = await withProgress("interpolate", o, (oo) => interpolate(session, m.model, a.x, b.x, { ...oo, frames }));
  const p = await writeOutputs(f.out, chunkRows(res.x, frames), res.x, gridScale(m));
  const perFrame = res.lambdas.map(
    (l, j) => `λ=${l.toFixed(2)}: ${fmt(mean(Array.from({ length: a.x.shape[0]! }, (_, i) => res.distance[i * frames + j]!)))}`,
  );
  console.log(
    `${a.x.shape[0]} pairs × ${frames} frames; relative rep distance to the mixed target ${perFrame.join(", ")}  (wrote ${p.png}, ${p.npy})`,
  );
}
