#!/usr/bin/env bash
# Fashion-MNIST, small CNN, L2 PGD-7 adversarial training at eps 1.25 (robustness library semantics).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/fashion-mnist-l2}
node bin/robustlens.js train --data fashion-mnist --arch small-cnn --epochs 10 --batch-size 128 \
  --lr 0.05 --momentum 0.9 --weight-decay 5e-4 --schedule cosine --adv l2 --eps 1.25 --steps 7 --seed 0 --out "$out" --resume
mkdir -p models/fashion-mnist-l2
cp "$out/model.onnx" "$out/model.json" "$out/metrics.jsonl" "$out/curves.svg" models/fashion-mnist-l2/
