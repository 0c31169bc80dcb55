#!/usr/bin/env bash
# The hybrid and its equal-budget baseline: tinylic-small and jiang-tinylic-small
# (FExM+FRM+FEnM+QECM on it) trained with the same steps, seed, data, lambda and schedule, then
# both measured on Kodak (docs/zoo.md). Its model fexm.jiang-tinylic-small was withdrawn when
# issue #26 changed the recipe's layout; nothing is shipped from this run.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-../shared/data/train}
KODAK=${KODAK:-../shared/data/kodak}
OUT=${OUT:-runs/cmp}
LIC=${LIC:-.venv/bin/lic}
STEPS=${STEPS:-400}
export OMP_NUM_THREADS=1
for R in tinylic-small jiang-tinylic-small; do
  "$LIC" train $R --data "$DATA" --lambda 0.0067 --steps "$STEPS" --batch 8 --patch 128 --lr 3e-4 \
    --schedule cosine:warmup=0.01 --workers 0 --seed 1 --val-every 250 --ckpt-every 50 --no-progress \
    --out "$OUT/$R-mse-0.0067.safetensors" --resume &
done
wait
"$LIC" eval "$OUT/tinylic-small-mse-0.0067.safetensors" "$OUT/jiang-tinylic-small-mse-0.0067.safetensors" \
  --data "$KODAK" --out-dir benchmarks/results/jiang-vs-tinylic --no-progress
