"""Encode/decode time of the asymmetric entropy model against ELIC's channel groups x
checkerboard (``core.elic-groups``) at the same M, on one Kodak image.

Both entropy models get the same ``y``: the analysis of ``core.elic`` (N=192, M=320, random
weights) of the image; both use ELIC's hyper transform (N=192) and slices [16, 16, 32, 64, 192],
so the only difference is the 4-stage spatial context of the first two slices. Random weights,
``update(force=True)``; times (wall and process CPU) are medians over ``--repeats`` runs of ``compress(y)`` and
``decompress(strings, shape)``; decoding is checked to reproduce the eval forward's ``y_hat``.

    OMP_NUM_THREADS=1 .venv/bin/python plugins/lic-asymmetric/benchmarks/bench_vs_elic.py \
        --image ../shared/data/kodak/kodim01.png --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from lic_core import create

MODELS = {
    "core.elic-groups (5 x checkerboard)": ("core.elic-groups", {"context_widths": [224, 128]}),
    "asymmetric (4,4,2,2,2 stages)": ("asymmetric.entropy_model", {}),
}


def load(path: str, stride: int = 64) -> torch.Tensor:
    x = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).float().div(255)[None]
    h, w = x.shape[-2:]
    return F.pad(x, (0, (-w) % stride, 0, (-h) % stride), mode="replicate")


def median_time(fn, repeats: int):
    """Median wall and process-CPU seconds (CPU time is robust on a shared machine with 1 thread)."""
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return (statistics.median(wall), statistics.median(cpu)), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default="../shared/data/kodak/kodim01.png", help="relative to the current directory (the repository root)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--M", type=int, default=320)
    ap.add_argument("--N", type=int, default=192)
    args = ap.parse_args()
    torch.manual_seed(0)
    x = load(args.image)
    with torch.no_grad():
        y = create("core.elic", N=args.N, M=args.M).eval().analysis(x)
    print(f"image {args.image} {tuple(x.shape[-2:])}, y {tuple(y.shape)}, torch threads {torch.get_num_threads()}")
    print(f"{'entropy model':40s} {'params':>9s} {'streams':>7s} {'bytes':>7s} {'enc wall/cpu s':>15s} {'dec wall/cpu s':>15s}")
    for label, (cid, params) in MODELS.items():
        torch.manual_seed(0)
        model = create(cid, args.M, N=args.N, groups=[16, 16, 32, 64, args.M - 128], **params).eval()
        model.update(force=True)
        with torch.no_grad():
            ref = model(y)["y_hat"]
            model.compress(y)  # warm-up
            enc, comp = median_time(lambda: model.compress(y), args.repeats)
            dec, out = median_time(lambda: model.decompress(comp["strings"], comp["shape"]), args.repeats)
        assert torch.equal(out["y_hat"], ref), f"{label}: decode differs from the eval forward"
        nbytes = sum(len(s) for group in comp["strings"] for s in group)
        n = sum(p.numel() for p in model.parameters())
        print(f"{label:40s} {n / 1e6:8.2f}M {len(comp['strings']):7d} {nbytes:7d} {enc[0]:7.3f}/{enc[1]:<7.3f} {dec[0]:7.3f}/{dec[1]:<7.3f}")


if __name__ == "__main__":
    main()
