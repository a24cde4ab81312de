// `robustlens saliency`: |∂ logit / ∂ x| maps for images, above the images in a grid.
import { session } from "./session.js";
import { saliency } from "../vis/saliency.js";
import { positiveInt } from "./attack.js";
import { gridScale, loadModel, predict, readImagesArg, writeOutputs } from "./vis-common.js";
import { interleaveRows } from "../ir/batch.js";

export interface SaliencyFlags { model: string; images: string; labels?: boolean; out: string; limit?: string }

export async function saliencyCommand(f: SaliencyFlags): Promise<void> {
  const m = await loadModel(f.model);
  const images = await readImagesArg(f.images, m, f.limit === undefined ? undefined : positiveInt(f.limit, "--limit"));
  if (f.labels && !images.labels) throw new Error(`--labels: "${f.images}" has no labels (use a dataset SPEC), so maps explain the predicted class`);
  const res = await saliency(session, m.model, images.x, f.labels ? Array.from(images.labels!) : undefined);
  // the maps are single-channel; the grid promotes them to RGB next to colour images
  const p = await writeOutputs(f.out, interleaveRows([images.x, res.map], 10), res.map, gridScale(m));
  const pred = f.labels ? await predict(m, images.x) : [];
  const name = (c: number) => m.classes?.[c] ?? String(c);
  const lines = images.names.map((nm, i) => `${nm}: explains ${name(res.labels[i]!)}${f.labels ? ` (predicted ${name(pred[i]!)})` : ""}`);
  console.log(`${lines.join("\n")}\n(wrote ${p.png}, ${p.npy})`);
}
