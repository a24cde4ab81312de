#!/usr/bin/env bash
# MNIST, small CNN, standard training.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/mnist-standard}
node bin/robustlens.js train --data mnist --arch small-cnn --epochs 5 --batch-size 128 \
  --lr 0.05 --momentum 0.9 --weight-decay 5e-4 --schedule cosine --seed 0 --out "$out" --resume
mkdir -p models/mnist-standard
cp "$out/model.onnx" "$out/model.json" "$out/metrics.jsonl" "$out/curves.svg" models/mnist-standard/
