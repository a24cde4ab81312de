// `robustlens saliency`: |∂ logit / ∂ x| maps for images, above the images in a grid.
import { escapeControl } from "../util/text.js";
import { session } from "./session.js";
import { interleaveRows } from "../ir/batch.js";
import { saliency } from "../vis/saliency.js";
import { checkLabels, modelClasses } from "./io.js";
import { checkVisOutputs, gridScale, loadModel, predict, readImagesArg, writeOutputs } from "./vis-common.js";

export interface SaliencyFlags {
  model: string;
  images: string;
  labels?: boolean;
  out: string;
  limit?: number;
}

export async function saliencyCommand(f: SaliencyFlags): Promise<void> {
  await checkVisOutputs(f.out, [f.model, f.images]);
  const m = await loadModel(f.model);
  const images = await readImagesArg(f.images, m, f.limit);
  if (f.labels && !images.labels)
    throw new Error(`--labels: "${f.images}" has no labels (use a dataset SPEC), so maps explain the predicted class`);
  if (f.labels) checkLabels(images.labels!, modelClasses(m.model), `--images "${f.images}"`);
  const res = await saliency(session, m.model, images.x, f.labels ? Array.from(images.labels!) : undefined);
  // the maps are single-channel; the grid promotes them to RGB next to colour images
  const p = await writeOutputs(f.out, interleaveRows([images.x, res.map], 10), res.map, gridScale(m));
  const pred = f.labels ? await predict(m, images.x) : [];
  const name = (c: number) => m.classes?.[c] ?? String(c);
  const lines = images.names.map((nm, i) => `${nm}: explains ${name(res.labels[i]!)}${f.labels ? ` (predicted ${name(pred[i]!)})` : ""}`);
  // image and class names come from files: escaped, they cannot move the cursor or fake lines
  console.log(`${lines.map(escapeControl).join("\n")}\n(wrote ${p.png}, ${p.npy})`);
}
