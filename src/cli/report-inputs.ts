// The images every model of a report shares (from --data, --ood, --count): one function for `report` and its queue workers.
import { loadImages } from "../image/node/load-images.js";
import { pickBatch } from "../ir/batch.js";
import type { ReportInputs } from "../report/experiments.js";
import { syntheticShapes } from "../report/shapes.js";

/** Dataset images a report reads at most (accuracy, top/bottom activating images, the synthesis Gaussians). */
export const DATA_LIMIT = 2000;
/** Interpolation pairs. */
export const PAIRS = 2;

export interface ImageShape {
  channels: 1 | 3;
  height: number;
  width: number;
}

export interface ReportImages {
  inputs: ReportInputs;
  /** Indices of the targets among the dataset images. */
  targetIdx: number[];
  /** Class names of the dataset, when it has them. */
  classes?: string[];
}

/** Loads --data (first DATA_LIMIT images) and --ood (default: synthetic shapes) in the models' shape and picks the targets. */
export async function reportImages(f: { data: string; ood?: string; count: number }, shape: ImageShape): Promise<ReportImages> {
  const data = await loadImages(f.data, shape, { limit: DATA_LIMIT });
  if (!data.labels) throw new Error(`--data "${f.data}" has no labels`);
  const labels = Array.from(data.labels);
  const targetIdx = onePerClass(labels, f.count);
  if (targetIdx.length < 2 * PAIRS) throw new Error(`--data "${f.data}": need at least ${2 * PAIRS} images, got ${labels.length}`);
  const ood = f.ood
    ? await loadImages(f.ood, shape, { limit: f.count })
    : syntheticShapes(f.count, shape.channels, shape.height, shape.width);
  const pairs = (side: 0 | 1) =>
    pickBatch(
      data.x,
      Array.from({ length: PAIRS }, (_, p) => targetIdx[2 * p + side]!),
    );
  return {
    inputs: {
      targets: pickBatch(data.x, targetIdx),
      targetLabels: targetIdx.map((i) => labels[i]!),
      ood: ood.x,
      from: pairs(0),
      to: pairs(1),
      data: data.x,
      dataLabels: labels,
    },
    targetIdx,
    classes: data.classes,
  };
}

/** The first image of each class in class order, then further images, until `count`. */
export function onePerClass(labels: readonly number[], count: number): number[] {
  const first = new Map<number, number>();
  labels.forEach((y, i) => {
    if (!first.has(y)) first.set(y, i);
  });
  const out = [...first.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, i]) => i)
    .slice(0, count);
  for (let i = 0; out.length < Math.min(count, labels.length); i++) if (!out.includes(i)) out.push(i);
  return out;
}
