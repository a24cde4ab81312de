// Tiny configurations of every architecture (width-scaled, small images): fast enough for tests and quick checks.
import { type Tensor, sizeOf, tensor } from "../ir/tensor.js";
import { Rng } from "../util/rng.js";
import { type ModelOptions, buildModel } from "./archs.js";

/** CIFAR-10 normalization constants. */
export const CIFAR = { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] };
/** Tiny versions of every architecture (width-scaled, small images) with their representation sizes. */
export const TINY: { o: ModelOptions; rep: number }[] = [
  { o: { arch: "small-cnn", inChannels: 1, imageSize: 28, classes: 10, mean: [0.5], std: [0.25], width: 0.25 }, rep: 32 },
  { o: { arch: "resnet18", inChannels: 3, imageSize: 16, classes: 10, ...CIFAR, width: 0.25 }, rep: 128 },
  { o: { arch: "resnet50", inChannels: 3, imageSize: 16, classes: 7, ...CIFAR, width: 0.125 }, rep: 256 },
  { o: { arch: "preact-resnet18", inChannels: 3, imageSize: 16, classes: 10, ...CIFAR, width: 0.25 }, rep: 128 },
  { o: { arch: "wrn-28-2", inChannels: 3, imageSize: 16, classes: 10, ...CIFAR, width: 0.25 }, rep: 32 },
];

/** Seeded uniform [0,1) images for a model's input. */
export const images = (n: number, o: ModelOptions, seed = 5): Tensor => {
  const rng = new Rng(seed);
  const shape = [n, o.inChannels, o.imageSize, o.imageSize];
  return tensor(
    "float32",
    shape,
    Float32Array.from({ length: sizeOf(shape) }, () => rng.next()),
  );
};

/**
 * BN tensors of a model re-randomized (scale and var in [0.5,1.5), bias and mean in [−0.2,0.2)), as `weights`:
 * checks then exercise every BN parameter, and no two BN initializers are equal (ORT's ConstantSharing merges
 * equal ones, which breaks BatchNormalization training mode when its running-stat outputs are unused).
 */
export function randomBatchNorm(o: ModelOptions, seed = 17): Map<string, Tensor> {
  const rng = new Rng(seed);
  const m = buildModel(o);
  const out = new Map<string, Tensor>();
  const prefixes = new Set(m.buffers.map((b) => b.slice(0, b.lastIndexOf("."))));
  for (const p of prefixes) {
    for (const [k, lo, hi] of [
      ["weight", 0.5, 1.5],
      ["bias", -0.2, 0.2],
      ["running_mean", -0.2, 0.2],
      ["running_var", 0.5, 1.5],
    ] as const) {
      const shape = m.graph.value(`${p}.${k}`).shape as number[];
      out.set(
        `${p}.${k}`,
        tensor(
          "float32",
          shape,
          Float32Array.from({ length: shape[0]! }, () => rng.uniform(lo, hi)),
        ),
      );
    }
  }
  return out;
}
