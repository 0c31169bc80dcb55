#!/usr/bin/env bash
# How the shipped weights were made (docs/zoo.md has the numbers). Every step checkpoints;
# rerun the same line with --resume to continue an interrupted run. On a CUDA machine add
# `--device cuda` (and --amp bf16); on 2 CPU cores the whole script takes about 100 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-../shared/data/train}     # BSDS500 train + test photos (never Kodak)
OUT=${OUT:-runs/zoo}
LIC=${LIC:-.venv/bin/lic}
COMMON=(--data "$DATA" --batch 8 --patch 128 --lr 3e-4 --schedule cosine:warmup=0.01 --workers 0 --seed 1
        --val-every 1500 --ckpt-every 500 --no-progress)
export OMP_NUM_THREADS=1               # two single-threaded runs at a time use 2 cores best

# 1. two base runs of the default recipe, in parallel
for L in 0.0067 0.025; do
  "$LIC" train core.mbt2018-mean-lite --lambda $L --steps 13000 --out "$OUT/lite-mse-$L.safetensors" "${COMMON[@]}" --resume &
done
wait
# 2. fine-tune the neighbouring rate points from them (lambda changes, recipe does not)
"$LIC" train core.mbt2018-mean-lite --lambda 0.0035 --steps 5000 --init "$OUT/lite-mse-0.0067.safetensors" \
  --out "$OUT/lite-mse-0.0035.safetensors" "${COMMON[@]}" --resume &
"$LIC" train core.mbt2018-mean-lite --lambda 0.013 --steps 5000 --init "$OUT/lite-mse-0.025.safetensors" \
  --out "$OUT/lite-mse-0.013.safetensors" "${COMMON[@]}" --resume &
wait
# 3. ship them (float16 parameters, coder tables recomputed, model id in the file)
Q=1
for L in 0.0035 0.0067 0.013 0.025; do
  "$LIC" models ship "$OUT/lite-mse-$L.safetensors" core.lite-q$Q --note "examples/zoo/train_default_codec.sh"
  Q=$((Q + 1))
done
