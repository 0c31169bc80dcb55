#!/usr/bin/env bash
# Kodak (24 images) evaluation of the shipped default codec's whole ladder against Pillow JPEG
# and WebP and CompressAI's published bmshj2018-hyperprior: BD-rates with both interpolations
# over all rates and over the high rates alone (>= 0.5 bpp), then the speed/rate-overhead bench
# (no CompressAI twin: CompressAI has no checkerboard + post-filter model). docs/zoo.md quotes
# these files (BENCH=0 skips the bench). The Pillow sweeps are measured once (delete their JSON files to remeasure).
set -euo pipefail
cd "$(dirname "$0")/.."
KODAK=${KODAK:-../shared/data/kodak}
LIC=${LIC:-.venv/bin/lic}
OUT=benchmarks/results/zoo-kodak
A=../shared/anchors/compressai-kodak
LADDER=$("$LIC" models list --json | python3 -c 'import json,sys; print(" ".join(m["id"] for m in json.load(sys.stdin) if m["id"].startswith("core.") and m["quality"]))')
ANCHORS=(--anchors jpeg,webp --qualities 1,3,5,8,10,15,20,25,30,40,50,60,70,80,90)
PUBLISHED=("$A/compressai-bmshj2018-hyperprior_mse_cpu.json" "$A/compressai-mbt2018-mean_mse_cpu.json")
if [[ -f "$OUT/JPEG_Pillow.json" && -f "$OUT/WEBP_Pillow.json" ]]; then  # measured: drawn, not remeasured
  ANCHORS=()
  PUBLISHED+=("$OUT/JPEG_Pillow.json" "$OUT/WEBP_Pillow.json")
fi
# shellcheck disable=SC2086
"$LIC" eval $LADDER --data "$KODAK" "${ANCHORS[@]}" --out-dir "$OUT" --plot "$OUT/rd-kodak.png" \
  --published "${PUBLISHED[@]}" --no-progress
TEST="$OUT/core.mbt2018-checkerboard-lite-pf2_mse.json"
{
  for REF in "$OUT/JPEG_Pillow.json" "$OUT/WEBP_Pillow.json" "$A/compressai-bmshj2018-hyperprior_mse_cpu.json"; do
    for M in cubic pchip; do
      echo "$(basename "$REF" .json) $M all: $("$LIC" bdrate "$REF" "$TEST" --json --method $M 2>&1)"
      echo "$(basename "$REF" .json) $M >=0.5bpp: $("$LIC" bdrate "$REF" "$TEST" --json --method $M --min-bpp 0.5 2>&1)"
    done
  done
} | tee "$OUT/bdrate.txt"
[[ "${BENCH:-1}" == 0 ]] || "$LIC" bench core.lite-q3 --images 24 --repeats 1 --threads 2 --reference none --name default-codec-lite-q3-kodak
