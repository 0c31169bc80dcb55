"""Measure a codec by really coding images through the ``.lic`` container.

Per image: bpp from the container's size (header included), PSNR-RGB and MS-SSIM of the 8-bit
reconstruction, encode and decode wall time (image already in memory; the first image is
coded once untimed to warm up).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from lic_core.evaluation.metrics import ms_ssim, psnr, to_8bit


def read_image(path: str | Path) -> Tensor:
    """(1, 3, H, W) float tensor in [0, 1], read as ``lic compress`` reads it."""
    from lic_core.imageio import read_image as _read

    return _read(path)[0]


@torch.no_grad()
def code_image(codec: torch.nn.Module, x: Tensor) -> dict[str, float | None]:
    from lic_core.imagecodec import compress_image, decompress_image

    t0 = time.perf_counter()
    data = compress_image(codec, x)
    t1 = time.perf_counter()
    x_hat = decompress_image(data, codec)
    t2 = time.perf_counter()
    x_hat = to_8bit(x_hat.to(x.device).float())
    if x_hat.shape != x.shape:
        raise RuntimeError(f"decoded shape {tuple(x_hat.shape)} differs from the input {tuple(x.shape)}")
    pixels = x.shape[-2] * x.shape[-1]
    return {"bpp": len(data) * 8 / pixels, "psnr-rgb": psnr(x, x_hat), "ms-ssim-rgb": ms_ssim(x, x_hat),
            "encoding_time": t1 - t0, "decoding_time": t2 - t1, "bytes": float(len(data))}  # fmt: skip


def evaluate_codec(
    codec: torch.nn.Module, files: Sequence[Path], images: Sequence[Tensor] | None = None,
    on_image: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """One record per image (``image`` = file name)."""
    codec.eval()
    images = images if images is not None else [read_image(f) for f in files]
    if images:
        code_image(codec, images[0])  # warm-up: allocations, lazy tables
    rows = []
    for f, x in zip(files, images):
        rows.append({"image": Path(f).name, **code_image(codec, x)})
        if on_image is not None:
            on_image()
    return rows
