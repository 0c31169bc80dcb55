"""Cross-device decoding of the default codec, emulated on one machine.

For each model (default: the default codec's ladder core.lite-q1..q4) and each Kodak crop,
the stream is encoded once; then decoded (a) with the entropy-parameter nets' outputs
perturbed by a relative ``--rel`` (``--seeds`` random sign patterns) and (b) by the codec
converted to float64. Each decode is classified against the unperturbed float32 decode:
exact, close (latents exact, image within 1e-3), drift-error (refused) or wrong (must be 0).
``--exact`` measures codecs whose entropy parameters are computed in exact integer
arithmetic (:mod:`lic_core.coding.robust`) and their bpp/PSNR beside the float codec's.

    python benchmarks/cross_device.py --out benchmarks/results/cross_device
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
from collections import Counter
from pathlib import Path

import torch

from lic_core.coding.drift import classify_decode, perturbed_parameters
from lic_core.imagecodec import compress_image, decompress_image
from lic_core.imageio import read_image
from lic_core.zoo import load_model

KODAK = "../shared/data/kodak"


def crops(data: str, count: int, size: int) -> list[tuple[str, torch.Tensor]]:
    """Centre crops of the first ``count`` images."""
    files = sorted(Path(data).glob("*.png"))[:count]
    out = []
    for f in files:
        x, _ = read_image(f)
        h, w = x.shape[-2:]
        t, l = (h - size) // 2, (w - size) // 2
        out.append((f.name, x[..., t : t + size, l : l + size].contiguous()))
    return out


def measure(codec: torch.nn.Module, images, rel: float, seeds: int) -> dict:
    """Counts of each outcome for perturbed and float64 decodes, and the mean bpp/PSNR."""
    perturbed, f64 = Counter(), Counter()
    f64_codec = copy.deepcopy(codec).double()
    bpp, psnr = [], []
    for _, x in images:
        data = compress_image(codec, x)
        ref = decompress_image(data, codec)
        bpp.append(8 * len(data) / (x.shape[-2] * x.shape[-1]))
        psnr.append(-10 * math.log10(float(((ref.clamp(0, 1) - x) ** 2).mean())))
        for seed in range(seeds):
            with perturbed_parameters(codec, rel, seed):
                perturbed[classify_decode(data, codec, ref)[0]] += 1
        f64[classify_decode(data, f64_codec, ref, check_digests=False)[0]] += 1
    return {"perturbed": dict(perturbed), "float64": dict(f64), "bpp": sum(bpp) / len(bpp), "psnr": sum(psnr) / len(psnr)}


def rate_distortion(codec: torch.nn.Module, data: str, count: int) -> list[dict]:
    """bpp and PSNR of the first ``count`` full images, through the ``.lic`` container."""
    rows = []
    for f in sorted(Path(data).glob("*.png"))[:count]:
        x, _ = read_image(f)
        stream = compress_image(codec, x)
        x_hat = decompress_image(stream, codec).clamp(0, 1)
        mse = float(((torch.round(x_hat * 255) / 255 - x) ** 2).mean())
        rows.append({"image": f.name, "bpp": 8 * len(stream) / (x.shape[-2] * x.shape[-1]), "psnr": -10 * math.log10(mse)})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="core.lite-q1,core.lite-q2,core.lite-q3,core.lite-q4")
    ap.add_argument("--data", default=KODAK)
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--rel", type=float, default=1e-5)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--exact", action="store_true", help="also measure the exact-integer entropy parameters")
    ap.add_argument("--rd-images", type=int, default=0, help="with --exact: bpp/PSNR of this many full images, float vs exact")
    ap.add_argument("--out", default=None, help="write OUT.json and OUT.md")
    args = ap.parse_args(argv)
    torch.set_grad_enabled(False)
    images = crops(args.data, args.images, args.size)
    rows = []
    for model in args.models.split(","):
        codec = load_model(model)
        codec.model_id = None  # streams without the header's model id, as make_exact's are: equal overhead
        variants = [("float", codec)]
        if args.exact:
            from lic_core.coding.robust import make_exact

            variants.append(("exact", make_exact(copy.deepcopy(codec))))
        for name, c in variants:
            r = measure(c, images, args.rel, args.seeds)
            if args.rd_images:
                r["full_images"] = rate_distortion(c, args.data, args.rd_images)
            rows.append({"model": model, "parameters": name, **r})
            print(f"{model} {name}: perturbed {r['perturbed']} float64 {r['float64']} "
                  f"bpp {r['bpp']:.4f} psnr {r['psnr']:.3f}", file=sys.stderr)  # fmt: skip
    result = {"data": args.data, "images": [n for n, _ in images], "crop": args.size, "rel": args.rel,
              "seeds": args.seeds, "rows": rows}  # fmt: skip
    lines = [f"Cross-device decoding (emulated): {len(images)} crops {args.size}x{args.size} of {args.data}, "
             f"entropy-parameter outputs perturbed by a relative {args.rel:g} ({args.seeds} sign patterns each), "
             "and float64 decoding of float32 streams.", "",
             "| model | entropy parameters | bpp | PSNR dB | perturbed: exact | close | drift error | wrong | float64: exact | close | drift error | wrong |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        p, f = r["perturbed"], r["float64"]
        cells = [f"{c.get(k, 0)}" for c in (p, f) for k in ("exact", "close", "drift-error", "wrong")]
        lines.append(f"| {r['model']} | {r['parameters']} | {r['bpp']:.4f} | {r['psnr']:.3f} | " + " | ".join(cells) + " |")
    full = [r for r in rows if "full_images" in r]
    if full:
        lines += ["", f"Full images ({', '.join(i['image'] for i in full[0]['full_images'])}), 8-bit PSNR:", "",
                  "| model | entropy parameters | bpp | PSNR dB |", "|---|---|---|---|"]  # fmt: skip
        for r in full:
            fi = r["full_images"]
            lines.append(f"| {r['model']} | {r['parameters']} | {sum(i['bpp'] for i in fi) / len(fi):.5f} | "
                         f"{sum(i['psnr'] for i in fi) / len(fi):.4f} |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out + ".json").write_text(json.dumps(result, indent=1) + "\n")
        Path(args.out + ".md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
