// Class Gaussians for `generate`: fitted once from --data (train split) and cached in the output folder.
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeAtomic } from "../data/node/atomic.js";
import { loadNpy, saveNpy } from "../data/node/npy-file.js";
import { loadImages } from "../image/node/load-images.js";
import { tensor } from "../ir/tensor.js";
import { type ClassGaussians, fitClassGaussians } from "../synth/gaussian.js";
import type { LoadedModel } from "./vis-common.js";

export interface GaussianRequest {
  data: string;
  factor: number;
  maxPerClass: number;
}

/** The cache folder next to the outputs, and the file stem for this request. */
export function gaussianCachePaths(
  out: string,
  m: LoadedModel,
  r: GaussianRequest,
): { meta: string; mean: string; chol: string; key: string } {
  const key = JSON.stringify({ data: r.data, split: "train", factor: r.factor, maxPerClass: r.maxPerClass, shape: m.shape });
  const stem = join(dirname(out), "class-gaussians", createHash("sha256").update(key).digest("hex").slice(0, 16));
  return { meta: `${stem}.json`, mean: `${stem}.mean.npy`, chol: `${stem}.chol.npy`, key };
}

async function readCached(p: ReturnType<typeof gaussianCachePaths>): Promise<ClassGaussians | undefined> {
  let meta: { key?: string; classes: number[]; counts: number[]; factor: number; dim: number; shape: [number, number, number] };
  try {
    meta = JSON.parse(await readFile(p.meta, "utf8"));
  } catch {
    return undefined;
  }
  if (meta.key !== p.key) return undefined;
  const mean = await loadNpy(p.mean),
    chol = await loadNpy(p.chol);
  const k = meta.classes.length,
    d = meta.dim;
  if (mean.shape.join() !== [k, d].join() || chol.shape.join() !== [k, d, d].join())
    throw new Error(`${p.meta}: cached class Gaussians do not match their metadata (delete the class-gaussians folder to refit)`);
  return { ...meta, mean: mean.data as Float32Array, chol: chol.data as Float32Array };
}

/** Loads the cached Gaussians for this request, else fits them (logging what it does) and writes the cache. */
export async function classGaussians(
  out: string,
  m: LoadedModel,
  r: GaussianRequest,
  log: (s: string) => void,
): Promise<{ gaussians: ClassGaussians; cached: boolean; path: string }> {
  const p = gaussianCachePaths(out, m, r);
  const hit = await readCached(p);
  if (hit) return { gaussians: hit, cached: true, path: p.meta };
  const set = await loadImages(r.data, m.shape, { split: "train" });
  if (!set.labels) throw new Error(`--data "${r.data}" has no labels: class Gaussians need labelled images`);
  const t0 = Date.now();
  log(
    `fitting class Gaussians to ${set.x.shape[0]} images of ${r.data} (train split; ≤ ${r.maxPerClass} per class, pooled ${r.factor}×) …`,
  );
  const g = fitClassGaussians(set.x, set.labels, { factor: r.factor, maxPerClass: r.maxPerClass });
  log(`fitted ${g.classes.length} classes (d = ${g.dim}) in ${((Date.now() - t0) / 1000).toFixed(1)} s; cached in ${p.meta}`);
  await mkdir(dirname(p.meta), { recursive: true });
  await saveNpy(p.mean, tensor("float32", [g.classes.length, g.dim], g.mean));
  await saveNpy(p.chol, tensor("float32", [g.classes.length, g.dim, g.dim], g.chol));
  const { mean: _m, chol: _c, ...meta } = g;
  await writeAtomic(p.meta, `${JSON.stringify({ key: p.key, ...meta }, null, 1)}\n`);
  return { gaussians: g, cached: false, path: p.meta };
}
