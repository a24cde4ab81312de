#!/usr/bin/env bash
# Robust accuracy of a zoo model on the first N test images: PGD-20 and APGD-CE at several L2 eps.
# usage: models/recipes/evaluate.sh NAME DATASET EPS_LIST [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 data=$2 eps=$3 n=${4:-1000}
node bin/robustlens.js eval --model "models/$name/model.onnx" --data "$data?limit=$n" --threat l2 --eps "$eps" \
  --attacks pgd,apgd-ce --steps 20 --batch-size 250 --out "models/$name/eval.json"
