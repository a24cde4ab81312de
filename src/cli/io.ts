// File inputs shared by commands: models, image batches and labels, each failing with the file's name.
import { readFile } from "node:fs/promises";
import { imagesToFloat, labelsToInt64 } from "../data/npy.js";
import { loadNpy } from "../data/node/npy-file.js";
import type { Tensor } from "../ir/tensor.js";
import { Model } from "../model/model.js";

export async function readModel(path: string): Promise<Model> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path); // a Buffer is a Uint8Array: no second copy of the weights
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  return new Model(bytes, path);
}

export async function readImages(path: string): Promise<Tensor<"float32">> {
  const t = imagesToFloat(await loadNpy(path), path);
  if (t.shape.length !== 4) throw new Error(`${path}: images must be NCHW (4-D), got shape [${t.shape.join(",")}]`);
  let outside = 0;
  for (const v of t.data) if (v < 0 || v > 1) outside++;
  if (outside) process.stderr.write(`robustlens: warning: ${path}: ${outside} values outside [0,1]; robustlens expects pixels in [0,1]\n`);
  return t;
}

export async function readLabels(path: string, n: number, classes: number): Promise<Tensor<"int64">> {
  const t = labelsToInt64(await loadNpy(path), path);
  if (t.shape.length !== 1 || t.shape[0] !== n)
    throw new Error(`${path}: labels shape [${t.shape.join(",")}] does not match a batch of ${n} images`);
  checkLabels(t.data, classes, path);
  return t;
}

/** Refuses labels outside 0..classes−1 (they would give a zero loss term and an unattacked example). */
export function checkLabels(labels: ArrayLike<bigint | number>, classes: number, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y < 0 || y >= classes)
      throw new Error(`${what}: label ${y} of example ${i} is outside 0..${classes - 1} (the model has ${classes} classes)`);
  }
}

/** The number of classes: the static width of the model's logits [N, C]. */
export function modelClasses(model: Model): number {
  const c = model.graph(1).outputs[0]!.shape?.[1];
  if (model.graph(1).outputs[0]!.rank !== 2 || typeof c !== "number" || c < 1)
    throw new Error(`${model.source}: the first output is not logits [N, classes] with a static class count`);
  return c;
}
