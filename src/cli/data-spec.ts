// Dataset specs (`--data SPEC`): `npy:X.npy,Y.npy` for now; the dataset readers add more kinds.
import type { Tensor } from "../ir/tensor.js";
import { readImages, readLabels } from "./io.js";

export interface LabeledImages { images: Tensor<"float32">; labels: Tensor<"int64">; name: string }

export async function loadDataSpec(spec: string): Promise<LabeledImages> {
  const m = /^npy:([^,]+),(.+)$/.exec(spec);
  if (!m) throw new Error(`unknown --data "${spec}" (expected npy:X.npy,Y.npy)`);
  const images = await readImages(m[1]!);
  const labels = await readLabels(m[2]!, images.shape[0]!);
  return { images, labels, name: spec };
}
