#!/usr/bin/env bash
# Fashion-MNIST, small CNN, L2 N-FGSM adversarial training at eps 1.25 (de Jorge et al. 2022: noise uniform in the
# 2·eps ball, one normalized-gradient step of eps, no projection back to the eps ball): the fashion-mnist-l2 numbers
# in under a third of its PGD-7 recipe's time (models/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/fashion-mnist-l2-fast}
node bin/robustlens.js train --data fashion-mnist --arch small-cnn --epochs 8 --batch-size 128 \
  --lr 0.05 --momentum 0.9 --weight-decay 5e-4 --schedule cosine --adv n-fgsm --threat l2 --eps 1.25 --seed 0 --out "$out" --resume
mkdir -p models/fashion-mnist-l2-fast
cp "$out/model.onnx" "$out/model.json" "$out/metrics.jsonl" "$out/curves.svg" models/fashion-mnist-l2-fast/
