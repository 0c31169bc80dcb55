#!/usr/bin/env bash
# How the shipped weights were made (docs/zoo.md has the numbers). Every step checkpoints;
# rerun the same line with --resume to continue an interrupted run. On a CUDA machine add
# `--device cuda` (and --amp bf16); on 2 CPU cores the whole script takes about 17 hours.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-../shared/data/train}     # BSDS500 train + test photos (never Kodak)
OUT=${OUT:-runs/zoo}
LIC=${LIC:-.venv/bin/lic}
PY=${PY:-.venv/bin/python}
COMMON=(--data "$DATA" --batch 8 --patch 128 --schedule cosine:warmup=0.01 --workers 0 --seed 1
        --val-every 1500 --ckpt-every 500 --no-progress)
export OMP_NUM_THREADS=1               # two single-threaded runs at a time use 2 cores best

# 1. two base runs of the default recipe, in parallel
for L in 0.0067 0.025; do
  "$LIC" train core.mbt2018-mean-lite --lambda $L --steps 13000 --lr 3e-4 --out "$OUT/lite-mse-$L.safetensors" "${COMMON[@]}" --resume &
done
wait
# 2. fine-tune the other rate points from them (lambda changes, recipe does not); the
#    lambda=0.025 run only serves as the start of the lambda=0.013 point
for PAIR in 0.0018:0.0067 0.0035:0.0067 0.013:0.025; do
  L=${PAIR%%:*}; FROM=${PAIR##*:}
  "$LIC" train core.mbt2018-mean-lite --lambda $L --steps 4000 --lr 2e-4 --init "$OUT/lite-mse-$FROM.safetensors" \
    --out "$OUT/lite-mse-$L.safetensors" "${COMMON[@]}" --resume &
done
wait
# 3. further cosine cycles, every rate point from its own weights of the cycle before,
#    four runs at a time (torch.compile: ~15% faster steps on CPU; --amp bf16 another ~15% on
#    CPUs with native bfloat16, many times slower where it is emulated, e.g. AVX2 only)
cycle() {  # SEED STEPS FROM_DIR OUT_DIR [more lic-train options]
  local seed=$1 steps=$2 from=$3 out=$4; shift 4
  for L in 0.0018 0.0035 0.0067 0.013; do
    "$LIC" train core.mbt2018-mean-lite --lambda $L --steps "$steps" --lr 2e-4 --init "$from/lite-mse-$L.safetensors" \
      --out "$out/lite-mse-$L.safetensors" "${COMMON[@]}" --seed "$seed" --val-every 1000 --ckpt-every 250 --compile \
      --resume "$@" &
  done
  wait
}
OUT2=${OUT2:-runs/zoo2}
OUT3=${OUT3:-runs/zoo3}
OUT4=${OUT4:-runs/zoo4}
OUT5=${OUT5:-runs/zoo5}
OUT6=${OUT6:-runs/zoo6}
cycle 2 11000 "$OUT" "$OUT2"   # cycle 2 ran to 11000 steps, then was resumed to 14000
cycle 2 14000 "$OUT" "$OUT2"
cycle 3 13000 "$OUT2" "$OUT3"
# cycle 4 (what ran: --init core.lite-q1..q4, the shipped cycle-3 files, as runs/zoo3 was gone;
# float32 to step 750, then --amp bf16 with --steps 20000, from step 1500 with --steps 17500 and
# from step 2750 with --steps 19500: the schedule stretched each time)
cycle 4 19500 "$OUT3" "$OUT4" --amp bf16
# cycle 5, a short fine-tune on larger crops at a lower LR (what ran: --init core.lite-q1..q4, the
# shipped cycle-4 files; float32 on an AVX2-only CPU; started with --steps 5000, restarted at
# step 1000 with --steps 4200: the cosine shortened from there)
cycle 5 4200 "$OUT4" "$OUT5" --batch 2 --patch 256 --lr 5e-5 --val-every 500
# cycle 6, on the largest crops BSDS500 gives without upscaling (what ran: --init core.lite-q1..q4,
# the shipped cycle-5 files; float32 on an AVX2-only CPU)
cycle 6 5400 "$OUT5" "$OUT6" --batch 2 --patch 320 --val-crop 320 --lr 1e-4 --val-every 500
# 4. cycle 7: a checkerboard context and a post-filter on top (recipe
#    core.mbt2018-checkerboard-lite-pf), warm-started from the cycle-6 weights: both new parts
#    start as no-ops (zero last convs) and train at 10x the LR of the rest (what ran: --init
#    core.lite-q1..q4, the shipped cycle-6 files, seed 9, 2,500 steps in one go)
OUT7=${OUT7:-runs/zoo7}
for L in 0.0018 0.0035 0.0067 0.013; do
  "$LIC" train core.mbt2018-checkerboard-lite-pf --lambda $L --steps 2500 --lr 1e-4 --init "$OUT6/lite-mse-$L.safetensors" \
    --init-matching --fresh-lr 1e-3 --out "$OUT7/lite-pf-mse-$L.safetensors" "${COMMON[@]}" --seed 9 --batch 2 --patch 320 \
    --val-crop 320 --val-every 500 --ckpt-every 250 --compile --resume &
done
wait
# 5. cycle 8: a second, wider post-filter before the first (recipe core.mbt2018-checkerboard-lite-pf2,
#    on 2x2 pixel blocks, zero last conv), warm-started from the cycle-7 weights (what ran: --init
#    core.lite-q1..q4, the shipped cycle-7 files, seed 12). q1 and q2: only the two post-filters
#    train, the codec stays as loaded (started with --steps 1500, shortened at step 250 to 1000);
#    q3 and q4: everything trains (started with --steps 4000, shortened at step 500 to 3000)
OUT8=${OUT8:-runs/zoo8}
pf2() {  # L STEPS FROM OUT_DIR SEED [more lic-train options]
  local L=$1 steps=$2 from=$3 out=$4 seed=$5; shift 5
  "$LIC" train core.mbt2018-checkerboard-lite-pf2 --lambda "$L" --steps "$steps" --lr 1e-4 --init "$from" \
    --out "$out/lite-pf2-mse-$L.safetensors" "${COMMON[@]}" --seed "$seed" --batch 2 --patch 320 --val-crop 320 \
    --val-every 500 --ckpt-every 250 --compile --resume "$@"
}
for L in 0.0018 0.0035; do
  pf2 $L 1000 "$OUT7/lite-pf-mse-$L.safetensors" "$OUT8" 12 --init-matching --fresh-lr 1e-3 \
    --train-only prepost.0 --train-only prepost.1 &
done
for L in 0.0067 0.013; do
  pf2 $L 3000 "$OUT7/lite-pf-mse-$L.safetensors" "$OUT8" 12 --init-matching --fresh-lr 1e-3 &
done
wait
# 6. cycle 9: the two higher rate points, where the codec is weakest against WebP, once more
#    end to end from their cycle-8 weights (seed 13)
OUT9=${OUT9:-runs/zoo9}
for L in 0.0067 0.013; do
  pf2 $L 3500 "$OUT8/lite-pf2-mse-$L.safetensors" "$OUT9" 13 &
done
wait
# 7. cycle 10: the same once more from their cycle-9 weights (what ran: --init core.lite-q3,
#    core.lite-q4, the shipped cycle-9 files, seed 14)
OUT10=${OUT10:-runs/zoo10}
for L in 0.0067 0.013; do
  pf2 $L 3500 "$OUT9/lite-pf2-mse-$L.safetensors" "$OUT10" 14 &
done
wait
# 8. ship them (float16 parameters, coder tables recomputed, model id in the file)
"$LIC" models ship "$OUT8/lite-pf2-mse-0.0018.safetensors" core.lite-q1 --note "examples/zoo/train_default_codec.sh"
"$LIC" models ship "$OUT8/lite-pf2-mse-0.0035.safetensors" core.lite-q2 --note "examples/zoo/train_default_codec.sh"
"$LIC" models ship "$OUT10/lite-pf2-mse-0.0067.safetensors" core.lite-q3 --note "examples/zoo/train_default_codec.sh"
"$LIC" models ship "$OUT10/lite-pf2-mse-0.013.safetensors" core.lite-q4 --note "examples/zoo/train_default_codec.sh"
# 9. the upper ladder (issue 31): q5-q8 at CompressAI's lambdas for its qualities 5-8. Each
#    starts from a lower point with its latent rescaled (examples/zoo/rescale_latent.py: the
#    same codec, quantized more finely), then fine-tunes end to end: q5 and q6 from the shipped
#    q4 times 1.5 and 2, then q7 and q8 from the new q6 times 1.5 and 2 (two at a time); batch
#    2 of 256x256 crops, LR 1e-4, 2,000 steps (seed 15, then 16)
OUT11=${OUT11:-runs/zoo11}
upper() {  # lambda, start, gain, seed
  "$PY" examples/zoo/rescale_latent.py "$2" "$3" -o "$OUT11/start-$1.safetensors"
  OMP_NUM_THREADS=1 "$LIC" train core.mbt2018-checkerboard-lite-pf2 --lambda "$1" --steps 2000 --lr 1e-4 \
    --init "$OUT11/start-$1.safetensors" --data "$DATA" --batch 2 --patch 256 --schedule cosine:warmup=0.01 --workers 0 \
    --seed "$4" --val-every 500 --val-crop 320 --ckpt-every 250 --compile --no-progress \
    --out "$OUT11/lite-pf2-mse-$1.safetensors" --resume
}
upper 0.025 core.lite-q4 1.5 15 & upper 0.0483 core.lite-q4 2 15 & wait
upper 0.0932 "$OUT11/lite-pf2-mse-0.0483.safetensors" 1.5 16 & upper 0.18 "$OUT11/lite-pf2-mse-0.0483.safetensors" 2 16 & wait
for Q in "5 0.025" "6 0.0483" "7 0.0932" "8 0.18"; do
  set -- $Q
  "$LIC" models ship "$OUT11/lite-pf2-mse-$2.safetensors" "core.lite-q$1" --note "examples/zoo/train_default_codec.sh"
done
