// Shared plumbing of the representation commands: model + metadata, IMAGES inputs, search options, PNG + .npy outputs.
import { readFile } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { saveNpy } from "../data/node/npy-file.js";
import { type RawImage, gridRows } from "../image/grid.js";
import { type ImageSet, loadImages } from "../image/node/load-images.js";
import { writePng } from "../image/node/png.js";
import { type Tensor, formatShape } from "../ir/tensor.js";
import { forward } from "../model/forward.js";
import type { Model } from "../model/model.js";
import { argmaxRows } from "../attack/losses.js";
import { session } from "./session.js";
import type { SearchOptions } from "../vis/search.js";
import { readModel } from "./io.js";
import { checkOutputs } from "./paths.js";
import { progress } from "./progress.js";

/** A model with what its model.json (written by `robustlens train`) says, when it is there. */
export interface LoadedModel {
  model: Model;
  path: string;
  /** Short display name: the model's folder for zoo layouts (models/NAME/model.onnx), else the file's base name. */
  name: string;
  classes?: string[];
  dataset?: string;
  /** [C, H, W] of the input. */
  shape: { channels: 1 | 3; height: number; width: number };
}

export async function loadModel(path: string): Promise<LoadedModel> {
  const model = await readModel(path);
  const [, c, h, w] = model.inputShape;
  if (typeof c !== "number" || typeof h !== "number" || typeof w !== "number")
    throw new Error(`${path}: input ${formatShape(model.inputShape)} needs static C, H, W for image commands`);
  if (c !== 1 && c !== 3) throw new Error(`${path}: input has ${c} channels; image commands take 1 (gray) or 3 (RGB)`);
  let meta: { classes?: unknown; dataset?: unknown } = {};
  try {
    meta = JSON.parse(await readFile(join(dirname(path), "model.json"), "utf8"));
  } catch {
    /* metadata is optional: models from elsewhere have none */
  }
  const file = basename(path, extname(path));
  return {
    model,
    path,
    name: file === "model" ? basename(dirname(path)) || file : file,
    classes: Array.isArray(meta.classes) ? meta.classes.map(String) : undefined,
    dataset: typeof meta.dataset === "string" ? meta.dataset : undefined,
    shape: { channels: c, height: h, width: w },
  };
}

export const readImagesArg = (arg: string, m: LoadedModel, limit?: number): Promise<ImageSet> => loadImages(arg, m.shape, { limit });

/** CLI flags every optimization command takes (strings from commander). */
export interface SearchFlags {
  steps?: number;
  stepSize?: number;
  eps?: number;
  rep?: string;
  fakeRelu?: boolean;
  batchSize?: number;
  seedRng?: number;
}

/** Parses the shared search flags; the progress bar is attached by `withProgress`. */
export function searchOptions(f: SearchFlags): SearchOptions {
  return {
    steps: f.steps,
    stepSize: f.stepSize,
    eps: f.eps,
    rep: f.rep,
    // commander's --no-fake-relu gives false; absent leaves the default (on when a ReLU is found)
    fakeRelu: f.fakeRelu === false ? false : undefined,
    batchSize: f.batchSize,
    rngSeed: f.seedRng ?? 0,
  };
}

/** Runs `fn` with a progress bar fed by the search's onStep. */
export async function withProgress<T>(label: string, o: SearchOptions, fn: (o: SearchOptions) => Promise<T>): Promise<T> {
  let bar: ReturnType<typeof progress> | undefined;
  try {
    return await fn({
      ...o,
      onStep: (done, total) => {
        bar ??= progress(total, label);
        bar.update(done);
      },
    });
  } finally {
    bar?.stop();
  }
}

/** `--out X.png` or `--out X.npy` → X.png and X.npy (any other extension gets .png/.npy appended). */
export function outPaths(out: string): { png: string; npy: string } {
  const ext = extname(out).toLowerCase();
  const base = ext === ".png" || ext === ".npy" ? out.slice(0, -4) : out;
  return { png: `${base}.png`, npy: `${base}.npy` };
}

/** Refuses, before any work, a grid/array output that is an input or cannot be written. */
export async function checkVisOutputs(out: string, inputs: readonly (string | undefined)[]): Promise<void> {
  const p = outPaths(out);
  await checkOutputs(
    [
      { flag: "--out", path: p.png },
      { flag: "--out (array)", path: p.npy },
    ],
    inputs,
  );
}

/** Scale so small images (28×28) become visible cells of at least ~96 px. */
export const gridScale = (m: LoadedModel): number => Math.max(1, Math.min(4, Math.floor(96 / Math.max(m.shape.height, m.shape.width))));

/** Writes the grid PNG (rows of images) and the result batch as .npy; returns the paths. */
export async function writeOutputs(
  out: string,
  rows: readonly Tensor<"float32">[],
  result: Tensor<"float32">,
  scale: number,
): Promise<{ png: string; npy: string }> {
  const p = outPaths(out);
  const img: RawImage = gridRows(rows, { scale });
  await writePng(p.png, img);
  await saveNpy(p.npy, result);
  return p;
}

export async function predict(m: LoadedModel, x: Tensor<"float32">): Promise<number[]> {
  return argmaxRows(await forward(session, m.model, x));
}

export { mean } from "../report/measure.js";
export const fmt = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
