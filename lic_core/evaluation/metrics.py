"""Image quality on 8-bit RGB: PSNR and MS-SSIM of what a decoder writes to a PNG."""

from __future__ import annotations

import math

import torch
from torch import Tensor

MSSSIM_MIN_SIDE = 161  # pytorch_msssim's 5 scales with an 11-tap window need more than 160 px


def to_8bit(x: Tensor) -> Tensor:
    """Round to the 256 levels an 8-bit image file holds (values stay in [0, 1])."""
    return x.clamp(0, 1).mul(255).round().div(255)


def psnr(x: Tensor, y: Tensor) -> float:
    """PSNR in dB over all RGB samples (peak 1)."""
    mse = torch.mean((x.double() - y.double()) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def ms_ssim(x: Tensor, y: Tensor) -> float | None:
    """MS-SSIM (pytorch_msssim, data range 1); ``None`` for images too small for 5 scales."""
    if min(x.shape[-2:]) < MSSSIM_MIN_SIDE:
        return None
    from pytorch_msssim import ms_ssim as _ms_ssim

    return float(_ms_ssim(x.float(), y.float(), data_range=1.0, size_average=True))
