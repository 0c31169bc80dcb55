"""Classic-codec anchors measured here: JPEG and WebP through Pillow over a quality sweep.

Pillow's defaults are kept apart from the quality (JPEG: 4:2:0 chroma subsampling, baseline;
WebP: lossy, ``method=4``), so the curves are what a user gets from ``Image.save``.
"""

from __future__ import annotations

import io
import time
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from lic_core.evaluation.metrics import ms_ssim, psnr

ANCHORS = {"jpeg": "JPEG", "webp": "WEBP"}
DEFAULT_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)


def _to_pil(x: Tensor) -> Image.Image:
    array = x[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array)


def _from_pil(img: Image.Image) -> Tensor:
    array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)


def code_image(x: Tensor, fmt: str, quality: int) -> dict[str, float | None]:
    """Encode and decode one (1, 3, H, W) image with Pillow; bpp from the file size."""
    if fmt not in ANCHORS:
        raise ValueError(f"unknown anchor {fmt!r} (known: {', '.join(ANCHORS)})")
    img = _to_pil(x)
    buf = io.BytesIO()
    t0 = time.perf_counter()
    img.save(buf, format=ANCHORS[fmt], quality=int(quality))
    t1 = time.perf_counter()
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as dec:
        dec.load()
        t2 = time.perf_counter()
        x_hat = _from_pil(dec)
    x8 = _from_pil(img)
    pixels = x.shape[-2] * x.shape[-1]
    return {"bpp": len(data) * 8 / pixels, "psnr-rgb": psnr(x8, x_hat), "ms-ssim-rgb": ms_ssim(x8, x_hat),
            "encoding_time": t1 - t0, "decoding_time": t2 - t1}  # fmt: skip


def sweep(
    images: Sequence[Tensor], fmt: str, qualities: Iterable[int] = DEFAULT_QUALITIES,
    on_image: Callable[[], None] | None = None,
) -> list[dict[str, float | None]]:
    """One mean record per quality (``quality`` included), averaged over ``images``."""
    from lic_core.evaluation.records import mean_record

    if images:
        code_image(images[0], fmt, 50)  # warm-up: the codec library's first call is slower
    points = []
    for q in qualities:
        rows = []
        for x in images:
            rows.append(code_image(x, fmt, q))
            if on_image is not None:
                on_image()
        points.append({**mean_record(rows), "quality": float(q)})
    return points
