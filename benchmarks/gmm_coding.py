"""Entropy-coding time of the Gaussian-mixture path (``lic_core.coding.discrete``) beside the
single-Gaussian scale-table path, on Kodak, and an exact round trip of ``core.gmm``.

Two measurements, timed interleaved in one run (ratios are what counts on a shared machine):

1. ``parts``: the latent distributions of a trained codec (the shipped ``core.lite-q3``,
   M=96: its hyperprior's scales and means for each Kodak image) coded by
   :class:`~lic_core.coding.parts.GaussianLatent` (one Gaussian, resident scale table) and by
   :class:`~lic_core.coding.discrete.DiscreteLatent` with a K=3 mixture around them (weights
   0.6/0.25/0.15, means shifted by 0, +0.3 and -0.3 scales, scales x1, x1.5, x0.7): the
   same ``y``, realistic widths, the mixture's per-element CDFs built on every call.
2. ``trained``: a briefly trained ``core.gmm`` codec beside ``core.lite-q3`` (M=96, a mean-scale
   hyperprior + checkerboard context, single Gaussian): the GMM codec (``core.gdn`` N=64 M=96,
   ``core.gmm`` K=3 with the same checkerboard order and hyper transform) takes lite-q3's
   transform and hyper weights, and only its mixture network is trained (``--steps`` Adam steps
   on the rate of 128x128 crops of ../shared/data/train/bsds500_train, the rest frozen). Whole-codec encode
   and decode, time inside the ``y`` coders, file bits and the exact-decode check on Kodak.
3. ``models``: ``core.gmm`` (order ``single``) beside ``core.hyperprior`` (mean-scale), both
   on ``core.gdn`` N=128 M=192 with the same hyper transform, seeded random weights (their
   latents are nearly all zero, so this shows the fixed costs only).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gmm_coding.py --images 4 --repeats 5 --steps 150
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

import lic_core
from lic_core.builtins.gmm import mixture_cdf, mixture_support
from lic_core.coding.discrete import DiscreteLatent
from lic_core.coding.parts import GaussianLatent
from lic_core.evaluation.bench import pad_to
from lic_core.evaluation.codec_eval import read_image
from lic_core.training.data import list_images
from lic_core.zoo import load_model

ROOT = Path(__file__).resolve().parent


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def mixture_around(scales: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) Gaussian parameters -> (B, C, H, W, 9) parameters of a K=3 mixture."""
    s = scales.clamp_min(0.11)
    w = torch.tensor([0.6, 0.25, 0.15]).expand(*s.shape, 3)
    m = torch.stack([means, means + 0.3 * s, means - 0.3 * s], -1)
    sc = torch.stack([s, 1.5 * s, 0.7 * s], -1).clamp_min(0.11)
    return torch.cat([w, m, sc], -1)


@torch.no_grad()
def parts(images, repeats: int) -> dict:
    codec = load_model("core.lite-q3").eval()
    em = codec.entropy_model
    gauss = GaussianLatent()
    gauss.gaussian_conditional.update(force=True)
    mix = DiscreteLatent(mixture_cdf, mixture_support)
    rows = []
    for name, x in images:
        x = pad_to(x, int(codec.stride))
        y = codec.transform.analysis(x)
        side, _ = em.side(y, em.quantizer)
        scales, means = side.chunk(2, 1)
        params = mixture_around(scales, means)
        samples = {k: [] for k in ("gauss_enc", "gauss_dec", "gmm_enc", "gmm_dec")}
        for _ in range(repeats):
            (gs, gy), t = _timed(gauss.compress, y, scales, means)
            samples["gauss_enc"].append(t)
            gd, t = _timed(gauss.decompress, gs, scales, means)
            samples["gauss_dec"].append(t)
            (ms, my), t = _timed(mix.compress, y, params)
            samples["gmm_enc"].append(t)
            md, t = _timed(mix.decompress, ms, params)
            samples["gmm_dec"].append(t)
        med = {k: statistics.median(v) for k, v in samples.items()}
        rows.append({
            "image": name, "y": list(y.shape), **med,
            "enc_ratio": med["gmm_enc"] / med["gauss_enc"], "dec_ratio": med["gmm_dec"] / med["gauss_dec"],
            "gauss_bits": 8 * len(gs[0]), "gmm_bits": 8 * len(ms[0]),
            "gmm_ideal_bits": float(-torch.log2(mix.likelihood(my, params)).sum()),
            "gauss_exact": bool(torch.equal(gd, gy)), "gmm_exact": bool(torch.equal(md, my)),
        })  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return {"rows": rows}


class _YTimer:
    """Time spent in an entropy model's ``y`` coder (``compress``/``decompress``) per call."""

    def __init__(self, module) -> None:
        self.seconds = 0.0
        for meth in ("compress", "decompress"):
            fn = getattr(module, meth)
            setattr(module, meth, self._wrap(fn))

    def _wrap(self, fn):
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.seconds += time.perf_counter() - t0

        return timed


def train_gmm(steps: int, seed: int, data: str):
    """core.gmm on lite-q3's transform and hyper, its mixture network trained on the rate."""
    from lic_core.checkpoint import load_matching_weights
    from lic_core.zoo import weights_path

    torch.manual_seed(seed)
    recipe = {"transform": {"id": "core.gdn", "N": 64, "M": 96},
              "entropy_model": {"id": "core.gmm", "K": 3, "order": "checkerboard",
                                "hyper": {"id": "core.hyper-meanscale", "N": 64}}}  # fmt: skip
    codec = lic_core.compose(recipe)
    loaded, fresh = load_matching_weights(codec, weights_path("core.lite-q3"))
    coder = codec.entropy_model.coder
    for p in codec.parameters():
        p.requires_grad_(False)
    trained = [p for p in coder.parameters()]
    for p in trained:
        p.requires_grad_(True)
    opt = torch.optim.Adam(trained, lr=1e-3)
    files = list_images(data, recursive=True)
    g = torch.Generator().manual_seed(seed)
    codec.train()
    log = []
    for step in range(steps):
        batch = []
        for i in torch.randint(len(files), (8,), generator=g).tolist():
            x = read_image(files[i])
            h, w = x.shape[-2:]
            top = int(torch.randint(h - 127, (1,), generator=g))
            left = int(torch.randint(w - 127, (1,), generator=g))
            batch.append(x[..., top : top + 128, left : left + 128])
        x = torch.cat(batch)
        with torch.no_grad():
            y = codec.transform.analysis(x)
        out = codec.entropy_model(y)
        bpp = -torch.log2(out["likelihoods"]["y"]).sum() / (x.numel() / 3)
        opt.zero_grad()
        bpp.backward()
        opt.step()
        if step % 25 == 0 or step == steps - 1:
            log.append((step, float(bpp.detach())))
            print(f"train step {step}: y {log[-1][1]:.4f} bpp", flush=True)
    codec.eval()
    codec.update(force=True)
    return codec, {"recipe": recipe, "steps": steps, "loaded": len(loaded), "fresh": len(fresh), "y_bpp": log}


def trained(images, repeats: int, seed: int, steps: int, data: str) -> dict:
    gmm, info = train_gmm(steps, seed, data)
    codecs = {"lite-q3": load_model("core.lite-q3").eval(), "gmm": gmm}
    timers = {"lite-q3": _YTimer(codecs["lite-q3"].entropy_model.coder.gaussian),
              "gmm": _YTimer(gmm.entropy_model.coder.latent)}  # fmt: skip
    return {**_side_by_side(codecs, timers, images, repeats), "gmm_training": info}


@torch.no_grad()
def _side_by_side(codecs, timers, images, repeats) -> dict:
    names = list(codecs)
    rows = []
    for name, x0 in images:
        row = {"image": name}
        samples = {f"{k}_{w}": [] for k in codecs for w in ("compress", "decompress", "y_enc", "y_dec")}
        for _ in range(repeats):
            for key, codec in codecs.items():
                x = pad_to(x0, int(codec.stride))
                timers[key].seconds = 0.0
                enc, t = _timed(codec.compress, x)
                samples[f"{key}_compress"].append(t)
                samples[f"{key}_y_enc"].append(timers[key].seconds)
                timers[key].seconds = 0.0
                dec, t = _timed(codec.decompress, enc["strings"], enc["shape"])
                samples[f"{key}_decompress"].append(t)
                samples[f"{key}_y_dec"].append(timers[key].seconds)
                ref = codec(x)["x_hat"].clamp(0, 1)
                row[f"{key}_exact"] = bool(torch.equal(dec["x_hat"], ref))
                row[f"{key}_bits"] = sum(8 * len(s) for group in enc["strings"] for s in group)
        row.update({k: statistics.median(v) for k, v in samples.items()})
        a, b = names[1], names[0]
        row["y_enc_ratio"] = row[f"{a}_y_enc"] / row[f"{b}_y_enc"]
        row["y_dec_ratio"] = row[f"{a}_y_dec"] / row[f"{b}_y_dec"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    params = {k: sum(p.numel() for p in c.parameters()) for k, c in codecs.items()}
    return {"rows": rows, "parameters": params}


@torch.no_grad()
def models(images, repeats: int, seed: int) -> dict:
    hyper = {"id": "core.hyper-meanscale", "N": 128}
    recipes = {
        "hyperprior": {"transform": {"id": "core.gdn", "N": 128, "M": 192},
                       "entropy_model": {"id": "core.hyperprior", "N": 128, "mode": "mean-scale"}},
        "gmm": {"transform": {"id": "core.gdn", "N": 128, "M": 192},
                "entropy_model": {"id": "core.gmm", "K": 3, "order": "single", "hyper": hyper}},
    }  # fmt: skip
    codecs, timers = {}, {}
    for key, recipe in recipes.items():
        torch.manual_seed(seed)
        codecs[key] = lic_core.compose(recipe).eval()
        codecs[key].update(force=True)
        y_part = codecs[key].entropy_model.y if key == "hyperprior" else codecs[key].entropy_model.coder.latent
        timers[key] = _YTimer(y_part)
    return {**_side_by_side(codecs, timers, images, repeats), "recipes": recipes, "seed": seed}



def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(ROOT.parent.parent / "shared" / "data" / "kodak"))
    p.add_argument("--images", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=150, help="training steps of the GMM's mixture network")
    p.add_argument("--train-data", default=str(ROOT.parent.parent / "shared" / "data" / "train" / "bsds500_train"))
    p.add_argument("--out", default=str(ROOT / "results" / "gmm_coding.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    files = list_images(args.data, recursive=False)[: args.images]
    images = [(f.name, read_image(f)) for f in files]
    result = {
        "meta": {"torch": torch.__version__, "threads": 1, "cpu": platform.processor() or platform.machine(),
                 "data": "../shared/data/kodak", "train_data": "../shared/data/train/bsds500_train", "images": [n for n, _ in images], "repeats": args.repeats},
        "parts": parts(images, args.repeats),
        "trained": trained(images, args.repeats, args.seed, args.steps, args.train_data),
        "models": models(images, args.repeats, args.seed),
    }  # fmt: skip
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
