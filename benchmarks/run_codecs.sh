#!/usr/bin/env bash
# Reproduce the training / evaluation / benchmark numbers in benchmarks/ (CPU; run from the
# repository root with the project's .venv). Each step stays under 10 minutes on 2 cores.
set -euo pipefail
LIC=${LIC:-.venv/bin/lic}
DATA=${DATA:-../shared/data}
ANCHORS=${ANCHORS:-../shared/anchors/compressai-kodak}
WORK=${WORK:-/tmp/lic-bench}
mkdir -p "$WORK"

# 1. short CPU training of a reduced core.mbt2018-mean (N=64, M=96): 200 steps of 4 random
#    128x128 crops of BSDS500-train, validation on 4 BSDS500-test images every 50 steps.
#    Interrupted runs continue exactly with --resume; --steps N with --resume ends at step N.
$LIC train benchmarks/training/mbt2018-mean-small.yaml --data "$DATA/train/bsds500_train" \
  --val-dir "$DATA/train/bsds500_test" --val-count 4 --val-crop 256 --lambda 0.013 --steps 200 \
  --batch 4 --patch 128 --lr 3e-4 --val-every 50 --ckpt-every 50 --workers 1 \
  --out "$WORK/mbt-small.safetensors" --log "$WORK/mbt-small.log.jsonl" --resume

# 2. Kodak through the .lic container, with Pillow JPEG/WebP anchors and published curves
$LIC eval "$WORK/mbt-small.safetensors" --data "$DATA/kodak" --anchors jpeg,webp \
  --out-dir benchmarks/results/eval-kodak --plot benchmarks/results/eval-kodak/rd-kodak.png \
  --published "$ANCHORS/compressai-mbt2018-mean_mse_cpu.json" "$ANCHORS/bpg_444_x265_ycbcr.json" \
  "$ANCHORS/jpeg.json" "$ANCHORS/webp.json"

# 3. speed and rate overhead side by side with CompressAI holding the same weights
$LIC bench "$WORK/mbt-small.safetensors" --data "$DATA/kodak" --images 4 --repeats 3 \
  --out-dir benchmarks/results --name mbt2018-mean-small-kodak
$LIC bench core.elic --data "$DATA/kodak" --images 2 --repeats 2 --out-dir benchmarks/results --name elic-kodak

# 4. BD-rate against BPG-444 of CompressAI's own mbt2018-mean (-3.44 % with cubic)
$LIC bdrate "$ANCHORS/bpg_444_x265_ycbcr.json" "$ANCHORS/compressai-mbt2018-mean_mse_cpu.json" --json
