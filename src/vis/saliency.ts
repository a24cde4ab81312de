// Vanilla gradient saliency: |∂ logit_y / ∂x|, max over channels, normalized per image (robust models give sharper maps).
import { inputGradient } from "../attack/gradient.js";
import { type AttackLoss, argmaxRows } from "../attack/losses.js";
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";
import { forward } from "../model/forward.js";
import type { Model } from "../model/model.js";
import type { Runner } from "../runtime/session.js";

export interface SaliencyResult {
  /** [N,1,H,W] in [0,1]: per image, max over channels of |∂ logit_y / ∂x| divided by its largest value (all 0 if the gradient is 0). */
  map: Tensor<"float32">;
  /** The class y each map explains (given, or the predicted class). */
  labels: number[];
}

/** logit_y per example as Σ logits·onehot: no gathers, and one program for any labels. */
const logitLoss = (onehot: Tensor<"float32">): AttackLoss => ({
  name: "logit",
  goal: "max",
  feeds: { saliency_onehot: onehot },
  build: (g, ctx) => g.reduceSum(g.mul(ctx.logits, ctx.graph.addInput("saliency_onehot", "float32", [...onehot.shape])), [1], false),
});

/** Saliency maps for images [N,C,H,W] with respect to the logit of `labels` (default: the predicted class). */
export async function saliency(
  runner: Runner,
  model: Model,
  images: Tensor<"float32">,
  labels?: Tensor<"int64"> | readonly number[],
): Promise<SaliencyResult> {
  const n = model.checkInput(images, "images");
  const ys =
    labels === undefined
      ? argmaxRows(await forward(runner, model, images))
      : "dtype" in labels
        ? Array.from(labels.data, Number)
        : [...labels];
  if (ys.length !== n) throw new Error(`saliency: ${ys.length} labels for ${n} images`);
  const logits = model.graph(n).outputs[0]!;
  const c = logits.shape?.[1];
  if (logits.rank !== 2 || typeof c !== "number")
    throw new Error(`saliency: logits "${logits.name}" must be [N,C], got ${formatShape(logits.shape)}`);
  ys.forEach((y) => {
    if (!Number.isInteger(y) || y < 0 || y >= c) throw new Error(`saliency: label ${y} is out of range for ${c} classes`);
  });
  const oh = new Float32Array(n * c);
  ys.forEach((y, i) => {
    oh[i * c + y] = 1;
  });
  const { grad: dx } = await inputGradient(runner, model, images, logitLoss(tensor("float32", [n, c], oh) as Tensor<"float32">));
  return { map: channelMaxNormalized(dx), labels: ys };
}

/** Per image: max over channels of |g|, divided by the image's largest value. */
export function channelMaxNormalized(g: Tensor): Tensor<"float32"> {
  const [n, c, h, w] = g.shape as [number, number, number, number];
  const plane = h * w,
    out = new Float32Array(n * plane);
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
