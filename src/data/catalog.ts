// What robustlens knows about the standard datasets: classes, file names, normalization, whether flips are safe.
import type { Norm } from "./dataset.js";

export type KnownDataset = "mnist" | "fashion-mnist" | "cifar10";
export const KNOWN_DATASETS: readonly KnownDataset[] = ["mnist", "fashion-mnist", "cifar10"];

export interface DatasetInfo {
  classes: string[];
  shape: [number, number, number];
  norm: Norm;
  /** Horizontal flips keep the class (garments, objects) — not for digits, where a flip makes a different glyph. */
  hflip: boolean;
}

export const MNIST_CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];
export const CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

// Constants as published with each dataset's standard training recipes (torchvision examples, the robustness library).
export const DATASET_INFO: Record<KnownDataset, DatasetInfo> = {
  mnist: { classes: MNIST_CLASSES, shape: [1, 28, 28], norm: { mean: [0.1307], std: [0.3081] }, hflip: false },
  "fashion-mnist": { classes: FASHION_MNIST_CLASSES, shape: [1, 28, 28], norm: { mean: [0.286], std: [0.353] }, hflip: true },
  cifar10: {
    classes: CIFAR10_CLASSES,
    shape: [3, 32, 32],
    norm: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
    hflip: true,
  },
};

/** IDX file stems per split (the names MNIST and Fashion-MNIST ship under; readers also accept `.gz`). */
export const IDX_FILES = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
} as const;

/** CIFAR-10 binary version: five training batches and one test batch of 3073-byte records. */
export const CIFAR10_FILES = {
  train: ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"],
  test: ["test_batch.bin"],
  meta: "batches.meta.txt",
} as const;

/** Where `fashion-mnist` without a directory looks: Debian's `dataset-fashion-mnist` package installs here. */
export const FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist";
