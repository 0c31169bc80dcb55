"""Parameters and encode/decode time of the Tiny-LIC and STF backbones on one Kodak image.

Random weights after ``update(force=True)`` (coding speed does not depend on training).
Times are wall-clock for ``codec.compress`` (analysis, hyperprior, context model, rANS) and
``codec.decompress`` (including synthesis) of the image padded to the codec's stride; the
decoded latents are checked against the encoder's.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/backbones.py --recipes tinylic stf \\
        --image ../shared/data/kodak/kodim01.png --threads 1 [--device cuda] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import lic_core


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(recipe: str, image: str, device: str, repeats: int) -> dict:
    torch.manual_seed(0)
    codec = lic_core.compose(recipe).eval().to(device)
    codec.update(force=True)
    rgb = np.asarray(Image.open(image).convert("RGB"), dtype=np.float32) / 255.0
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device)
    h, w = x.shape[-2:]
    s = codec.stride
    x = F.pad(x, (0, -w % s, 0, -h % s), mode="replicate")
    enc_t, dec_t = [], []
    with torch.no_grad():
        for _ in range(repeats):
            _sync(device)
            t0 = time.perf_counter()
            enc = codec.compress(x)
            _sync(device)
            t1 = time.perf_counter()
            dec = codec.decompress(enc["strings"], enc["shape"])
            _sync(device)
            t2 = time.perf_counter()
            enc_t.append(t1 - t0)
            dec_t.append(t2 - t1)
    nbytes = sum(len(b) for stream in enc["strings"] for b in stream)
    return {
        "recipe": recipe,
        "device": device,
        "threads": torch.get_num_threads(),
        "image": image,
        "size": [h, w],
        "padded": list(x.shape[-2:]),
        "params_M": round(codec.num_parameters() / 1e6, 3),
        "encode_s": round(min(enc_t), 3),
        "decode_s": round(min(dec_t), 3),
        "bytes": nbytes,
        "exact": bool(torch.equal(dec["y_hat"], enc["y_hat"])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["tinylic", "stf"])
    parser.add_argument("--image", default="../shared/data/kodak/kodim01.png", help="run from the repository root")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for recipe in args.recipes:
        row = measure(recipe, args.image, args.device, args.repeats)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
