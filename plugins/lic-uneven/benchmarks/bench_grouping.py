"""Compress/decompress time of uneven (power, k=1.7) against even channel grouping at M=320.

Builds recipe ``cca`` (random weights, no loss terms) once per schedule with the same seed,
``update(force=True)``, and times real entropy coding of one image's latent. The grouping only
changes the entropy model, so its compress/decompress is timed, the two schedules interleaved
(min and median of the repeats, robust to a shared machine); both codecs share one transform,
timed once, and the full codec time is the sum. Also checks that decompressing reproduces the
eval forward's ``y_hat``.

    OMP_NUM_THREADS=1 .venv/bin/python plugins/lic-uneven/benchmarks/bench_grouping.py \
        --image ../shared/data/kodak/kodim01.png --repeats 7 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from lic_core import compose, get_recipe

SCHEDULES = {
    "uneven k=1.7": {"schedule": "power", "k": 1.7, "slices": 5},
    "even (5 slices)": {"schedule": "even", "slices": 5},
}


def load(path: str, stride: int, crop: int) -> torch.Tensor:
    x = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).float().div(255)[None]
    if crop:
        x = x[..., :crop, :crop]
    h, w = x.shape[-2:]
    return F.pad(x, (0, (-w) % stride, 0, (-h) % stride), mode="replicate")


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default="../shared/data/kodak/kodim01.png", help="relative to the current directory (the repository root)")
    ap.add_argument("--crop", type=int, default=0, help="top-left square crop (0: whole image)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    codecs = {}
    for label, params in SCHEDULES.items():
        recipe = get_recipe("cca")
        recipe["entropy_model"].update(params)
        recipe["losses"] = []
        torch.manual_seed(0)
        codecs[label] = compose(recipe).eval()
        codecs[label].update(force=True)
        codecs[label].transform = codecs[next(iter(codecs))].transform  # one shared transform
    first = next(iter(codecs.values()))
    x = load(args.image, first.stride, args.crop)
    times = {label: {"enc": [], "dec": []} for label in codecs}
    with torch.no_grad():
        t_a, y = timed(lambda: first.transform.analysis(x))
        t_s, _ = timed(lambda: first.transform.synthesis(y))
        results = {}
        for label, codec in codecs.items():
            em = codec.entropy_model
            ref = em(y)["y_hat"]
            enc = em.compress(y)  # warm-up
            dec = em.decompress(enc["strings"], enc["shape"])
            exact = torch.equal(dec["y_hat"], ref) and torch.equal(enc["y_hat"], ref)
            results[label] = (em.groups, enc, sum(len(s) for st in enc["strings"] for s in st), exact)
        for _ in range(args.repeats):  # interleaved, so that load changes hit both alike
            for label, codec in codecs.items():
                em, enc = codec.entropy_model, results[label][1]
                times[label]["enc"].append(timed(lambda: em.compress(y))[0])
                times[label]["dec"].append(timed(lambda: em.decompress(enc["strings"], enc["shape"]))[0])
    print(f"image {args.image} as {tuple(x.shape[-2:])} (y {tuple(y.shape[-2:])}), torch threads "
          f"{torch.get_num_threads()}; entropy model min / median of {args.repeats} interleaved runs; "
          f"shared transform: analysis {t_a:.2f} s, synthesis {t_s:.2f} s")  # fmt: skip
    print(f"{'grouping':<16} {'slices':<22} {'EM enc min/med s':>17} {'EM dec min/med s':>17} "
          f"{'codec enc s':>11} {'codec dec s':>11} {'bytes':>6} exact")  # fmt: skip
    for label, (groups, _, nbytes, exact) in results.items():
        e, d = times[label]["enc"], times[label]["dec"]
        print(f"{label:<16} {str(list(groups)):<22} {min(e):8.3f}/{statistics.median(e):<8.3f} "
              f"{min(d):8.3f}/{statistics.median(d):<8.3f} {t_a + min(e):11.3f} {min(d) + t_s:11.3f} "
              f"{nbytes:6d} {exact}")  # fmt: skip


if __name__ == "__main__":
    main()
