#!/usr/bin/env bash
# MNIST, small CNN, L2 PGD-7 adversarial training at eps 2.0 (no flips for digits).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/mnist-l2}
node bin/robustlens.js train --data mnist --arch small-cnn --epochs 6 --batch-size 128 \
  --lr 0.05 --momentum 0.9 --weight-decay 5e-4 --schedule cosine --adv l2 --eps 2 --steps 7 --seed 0 --out "$out" --resume
mkdir -p models/mnist-l2
cp "$out/model.onnx" "$out/model.json" "$out/metrics.jsonl" "$out/curves.svg" models/mnist-l2/
