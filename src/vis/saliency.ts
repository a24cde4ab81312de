// Vanilla gradient saliency: |∂ logit_y / ∂x|, max over channels, normalized per image (robust models give sharper maps).
import { argmaxRows } from "../attack/losses.js";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../ir/builder.js";
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";
import { forward } from "../model/gradient.js";
import type { Model } from "../model/model.js";
import { type Executor, profileOf } from "../runtime/executor.js";

export interface SaliencyResult {
  /** [N,1,H,W] in [0,1]: per image, max over channels of |∂ logit_y / ∂x| divided by its largest value (all 0 if the gradient is 0). */
  map: Tensor<"float32">;
  /** The class y each map explains (given, or the predicted class). */
  labels: number[];
}

/** Saliency maps for images [N,C,H,W] with respect to the logit of `labels` (default: the predicted class). */
export async function saliency(exec: Executor, model: Model, images: Tensor<"float32">, labels?: Tensor<"int64"> | readonly number[]): Promise<SaliencyResult> {
  const n = model.checkInput(images, "images");
  const ys = labels === undefined ? argmaxRows(await forward(exec, model, images))
    : "dtype" in labels ? Array.from(labels.data, Number) : [...labels];
  if (ys.length !== n) throw new Error(`saliency: ${ys.length} labels for ${n} images`);
  const graph = model.graph(n);
  const logits = graph.outputs[0]!;
  const c = logits.shape?.[1];
  if (logits.rank !== 2 || typeof c !== "number") throw new Error(`saliency: logits "${logits.name}" must be [N,C], got ${formatShape(logits.shape)}`);
  ys.forEach((y) => { if (!Number.isInteger(y) || y < 0 || y >= c) throw new Error(`saliency: label ${y} is out of range for ${c} classes`); });
  // logit_y as Σ logits·onehot keeps the program free of gathers and per-label recompiles
  const onehot = graph.addInput("saliency_onehot", "float32", [n, c]);
  const g = new Builder(graph);
  const loss = g.reduceSum(g.mul(logits, onehot), [], false);
  const gr = grad(graph, { loss, wrt: [model.inputName], keepOutputs: false, profile: profileOf(exec) });
  const prog = await exec.compile(gr.graph);
  let dx: Tensor;
  try {
    const oh = new Float32Array(n * c);
    ys.forEach((y, i) => { oh[i * c + y] = 1; });
    dx = (await prog.run({ [model.inputName]: images, saliency_onehot: tensor("float32", [n, c], oh) }))[gr.grads[0]!.name]!;
  } finally {
    await prog.dispose();
  }
  return { map: channelMaxNormalized(dx), labels: ys };
}

/** Per image: max over channels of |g|, divided by the image's largest value. */
export function channelMaxNormalized(g: Tensor): Tensor<"float32"> {
  const [n, c, h, w] = g.shape as [number, number, number, number];
  const plane = h * w, out = new Float32Array(n * plane);
  for (let i = 0; i < n; i++) {
    let top = 0;
    for (let p = 0; p < plane; p++) {
      let m = 0;
      for (let ch = 0; ch < c; ch++) m = Math.max(m, Math.abs(Number(g.data[(i * c + ch) * plane + p])));
      out[i * plane + p] = m;
      top = Math.max(top, m);
    }
    if (top > 0) for (let p = 0; p < plane; p++) out[i * plane + p]! /= top;
  }
  return tensor("float32", [n, 1, h, w], out) as Tensor<"float32">;
}
