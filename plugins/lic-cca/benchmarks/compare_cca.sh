#!/usr/bin/env bash
# Equal-budget comparison of cca-small with and without the CCA loss: same steps, seed, data,
# lambda, batch, patch and learning rate; then real coding of Kodak with `lic eval`.
#   STEPS=120 OUT=/tmp/cca-compare bash plugins/lic-cca/benchmarks/compare_cca.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
STEPS=${STEPS:-120}; OUT=${OUT:-/tmp/cca-compare}; DATA=${DATA:-/work/shared/data/train/bsds500_train}
KODAK=${KODAK:-/work/shared/data/kodak}; LAMBDA=${LAMBDA:-0.013}
mkdir -p "$OUT"
common=(--data "$DATA" --lambda "$LAMBDA" --steps "$STEPS" --batch 4 --patch 128 --lr 3e-4 --seed 0
        --val-count 0 --workers 0 --log-every 10 --no-progress)
.venv/bin/lic train cca-small "${common[@]}" --out "$OUT/with-cca.safetensors"
.venv/bin/lic train plugins/lic-cca/benchmarks/cca-small-nocca.yaml "${common[@]}" --out "$OUT/without-cca.safetensors"
.venv/bin/lic eval "$OUT/with-cca.safetensors" "$OUT/without-cca.safetensors" --data "$KODAK" \
    --out-dir "$OUT/results" --no-progress ${LIMIT:+--limit "$LIMIT"}
