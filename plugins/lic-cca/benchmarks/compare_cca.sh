#!/usr/bin/env bash
# Equal-budget comparison of codecs with and without cca.loss (each mode): the same steps, seed,
# data, lambda, batch, patch and learning rate for every variant; then real coding of the first
# LIMIT Kodak images with `lic eval` and BD-rate of each variant against the no-CCA control.
#   NAMES="cca-small elic-small" STEPS=120 OUT=/tmp/cca-compare bash plugins/lic-cca/benchmarks/compare_cca.sh
# (the README's numbers; its detached run: cca-small-detached.yaml at lambda 0.013, same options)
# Variants are the recipe files NAME-{nocca,fitted,authors}.yaml next to this script (VARIANTS to
# change); LAMBDAS the rate points. Two training runs at a time, one thread each. Then
#   python plugins/lic-cca/benchmarks/summarize_logs.py $OUT plugins/lic-cca/benchmarks/results
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=plugins/lic-cca/benchmarks
NAMES=${NAMES:-"cca-small elic-small"}; OUT=${OUT:-/tmp/cca-compare}; STEPS=${STEPS:-120}
DATA=${DATA:-../shared/data/train/bsds500_train}; KODAK=${KODAK:-../shared/data/kodak}; LIMIT=${LIMIT:-3}
LAMBDAS=${LAMBDAS:-"0.0067 0.013 0.025 0.0483"}; VARIANTS=${VARIANTS:-"nocca fitted authors"}
export OMP_NUM_THREADS=1
common=(--data "$DATA" --steps "$STEPS" --batch 4 --patch 64 --lr 3e-4 --seed 0
        --val-count 0 --workers 0 --log-every 10 --no-progress)
jobs=()
for n in $NAMES; do mkdir -p "$OUT/$n"; for v in $VARIANTS; do for l in $LAMBDAS; do jobs+=("$n:$v:$l"); done; done; done
run() {
    IFS=: read -r n v l <<< "$1"
    [ -f "$OUT/$n/$v-$l.safetensors" ] && return 0
    rm -f "$OUT/$n/$v-$l".{log.jsonl,state.safetensors}  # a fresh run, not an appended log
    .venv/bin/lic train "$HERE/$n-$v.yaml" "${common[@]}" --lambda "$l" --out "$OUT/$n/$v-$l.safetensors" \
        > "$OUT/$n/$v-$l.out" 2>&1 || echo "lic train $1 failed: see $OUT/$n/$v-$l.out"
}
for ((i = 0; i < ${#jobs[@]}; i += 2)); do
    run "${jobs[i]}" & a=$!
    if ((i + 1 < ${#jobs[@]})); then run "${jobs[i + 1]}" & b=$!; wait $b; fi
    wait $a
done
for n in $NAMES; do
    for v in $VARIANTS; do
        ckpts=(); for l in $LAMBDAS; do ckpts+=("$OUT/$n/$v-$l.safetensors"); done
        [ -f "$OUT/$n/$v.json" ] || .venv/bin/lic eval "${ckpts[@]}" --data "$KODAK" --limit "$LIMIT" \
            --out-dir "$OUT/$n/results-$v" --json "$OUT/$n/$v.json" --no-progress > "$OUT/$n/eval-$v.txt"
    done
    for v in $VARIANTS; do
        [ "$v" = nocca ] && continue
        # cubic needs 4 points; curves that do not overlap in PSNR have no BD-rate
        for m in cubic pchip; do .venv/bin/lic bdrate --method $m "$OUT/$n/nocca.json" "$OUT/$n/$v.json" || true; done
    done
done 2>&1 | tee "$OUT/bdrate.txt"
