// Shared inputs for both sides of the benchmark: the two models as ONNX and their image batches as .npy, in one folder.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng, buildModel, importOnnx, tensor, toOnnxBytes } from "robustlens";
import { loadDataset, saveNpy } from "robustlens/node";

export const CIFAR = { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] };
export const FMNIST_MODEL = "models/fashion-mnist-standard/model.onnx";

/**
 * Per model: what it is built from and the attack/training settings every workload uses (the zoo recipes' values for
 * Fashion-MNIST, the robustness library's CIFAR L2 defaults for ResNet-18).
 */
export const MODELS = {
  r18: { label: "ResNet-18 (CIFAR, 3×32×32)", eps: 0.5, trainStep: 0.1, lr: 0.1 },
  fm: { label: "Fashion-MNIST CNN (1×28×28)", eps: 1.25, trainStep: (2.5 * 1.25) / 7, lr: 0.05 },
};
export const BATCH = Number(process.env.ROBUSTLENS_BENCH_BATCH ?? 32); // profiling other batch sizes (the table is batch 32)
export const EVAL_IMAGES = 1000;
/** The CLI's `eval --batch-size` default. */
export const EVAL_BATCH = 64;

const uniform = (rng, shape) =>
  tensor(
    "float32",
    shape,
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next()),
  );
const labels = (rng, n) =>
  tensor(
    "int64",
    [n],
    Array.from({ length: n }, () => Math.floor(rng.next() * 10)),
  );

/** Writes dir/{r18,fm}.onnx and per model x.npy [32], y.npy, targets.npy [32], x_eval.npy [1000], y_eval.npy. */
export async function prepareAssets(dir) {
  const rng = new Rng(1234);
  // ResNet-18 from our own builder (seeded init; eval-mode BN with unit running stats), metadata for the PyTorch twin
  const r18 = buildModel({ arch: "resnet18", inChannels: 3, imageSize: 32, classes: 10, ...CIFAR, seed: 7, mode: "eval" });
  writeFileSync(join(dir, "r18.onnx"), toOnnxBytes(r18.graph));
  await saveNpy(join(dir, "r18_x.npy"), uniform(rng, [BATCH, 3, 32, 32]));
  await saveNpy(join(dir, "r18_y.npy"), labels(rng, BATCH));
  await saveNpy(join(dir, "r18_targets.npy"), uniform(rng, [BATCH, 3, 32, 32]));
  await saveNpy(join(dir, "r18_x_eval.npy"), uniform(rng, [EVAL_IMAGES, 3, 32, 32]));
  await saveNpy(join(dir, "r18_y_eval.npy"), labels(rng, EVAL_IMAGES));
  // the zoo's Fashion-MNIST model on real test images
  writeFileSync(join(dir, "fm.onnx"), readFileSync(FMNIST_MODEL));
  const test = await loadDataset("fashion-mnist", "test");
  const per = 28 * 28;
  const imgs = (lo, n) =>
    tensor(
      "float32",
      [n, 1, 28, 28],
      Float32Array.from(test.images.subarray(lo * per, (lo + n) * per), (v) => (test.images instanceof Uint8Array ? v / 255 : v)),
    );
  const labs = (lo, n) => tensor("int64", [n], Array.from(test.labels.subarray(lo, lo + n), Number));
  await saveNpy(join(dir, "fm_x.npy"), imgs(0, BATCH));
  await saveNpy(join(dir, "fm_y.npy"), labs(0, BATCH));
  await saveNpy(join(dir, "fm_targets.npy"), imgs(BATCH, BATCH));
  await saveNpy(join(dir, "fm_x_eval.npy"), imgs(0, EVAL_IMAGES));
  await saveNpy(join(dir, "fm_y_eval.npy"), labs(0, EVAL_IMAGES));
}

/** buildModel options matching an ONNX file written by robustlens (metadata: arch, classes, mean, std, width). */
export function archOptions(bytes) {
  const g = importOnnx(bytes);
  const meta = Object.fromEntries(["arch", "classes", "mean", "std", "width"].map((k) => [k, JSON.parse(g.metadata[k])]));
  const [, c, h] = g.inputs[0].shape;
  const weights = new Map(g.initializers.map((v) => [v.name, v.data]));
  return {
    arch: meta.arch,
    inChannels: c,
    imageSize: h,
    classes: meta.classes,
    mean: meta.mean,
    std: meta.std,
    width: meta.width,
    weights,
  };
}
