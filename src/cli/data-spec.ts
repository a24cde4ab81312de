// `--data SPEC` for commands that take every example of a split at once (eval): tensors in [0,1] and int64 labels.
import { type Dataset, toTensors } from "../data/dataset.js";
import { type Split, loadDataset } from "../data/node/load.js";
import { parseDataSpec } from "../data/spec.js";
import type { Tensor } from "../ir/tensor.js";
import { readImages, readLabels } from "./io.js";

export interface LabeledImages {
  images: Tensor<"float32">;
  labels: Tensor<"int64">;
  name: string;
  dataset?: Dataset;
}

/** Loads a spec's split (default test); npy keeps the CLI's own checks (range warning), every other kind goes through loadDataset. */
export async function loadDataSpec(spec: string, split: Split = "test"): Promise<LabeledImages> {
  const s = parseDataSpec(spec);
  if (s.kind === "npy" && s.options.limit === undefined && s.options.flip === undefined) {
    const images = await readImages(s.images);
    // the class count is the model's: eval checks the labels against its logits
    const labels = await readLabels(s.labels, images.shape[0]!, Number.MAX_SAFE_INTEGER);
    return { images, labels, name: spec };
  }
  const dataset = await loadDataset(spec, split);
  return { ...toTensors(dataset), name: spec, dataset };
}
