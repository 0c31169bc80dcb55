#!/usr/bin/env bash
# Kodak (24 images) evaluation of the shipped default codec against Pillow JPEG and WebP,
# BD-rates with both interpolations, and the speed/rate-overhead bench (no CompressAI twin:
# CompressAI has no checkerboard + post-filter model) (docs/zoo.md quotes these files).
set -euo pipefail
cd "$(dirname "$0")/.."
KODAK=${KODAK:-../shared/data/kodak}
LIC=${LIC:-.venv/bin/lic}
OUT=benchmarks/results/zoo-kodak
A=../shared/anchors/compressai-kodak
"$LIC" eval core.lite-q1 core.lite-q2 core.lite-q3 core.lite-q4 --data "$KODAK" --anchors jpeg,webp \
  --qualities 1,3,5,8,10,15,20,25,30,40,50,60,70,80,90 --out-dir "$OUT" --plot "$OUT/rd-kodak.png" \
  --published "$A/compressai-bmshj2018-hyperprior_mse_cpu.json" "$A/compressai-mbt2018-mean_mse_cpu.json" --no-progress
for REF in JPEG_Pillow WEBP_Pillow; do
  for M in cubic pchip; do
    echo "$REF $M: $("$LIC" bdrate "$OUT/$REF.json" "$OUT/core.mbt2018-checkerboard-lite-pf2_mse.json" --json --method $M)"
  done
done | tee "$OUT/bdrate.txt"
"$LIC" bench core.lite-q3 --images 24 --repeats 1 --threads 2 --reference none --name default-codec-lite-q3-kodak
