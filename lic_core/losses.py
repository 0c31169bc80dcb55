"""The rate-distortion objective (CompressAI's convention) shared by training and loss terms."""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import Tensor


def bits(likelihoods: Mapping[str, Tensor]) -> Tensor:
    """Total bits (summed over the batch) that the likelihoods predict."""
    return sum(-torch.log2(lik).sum() for lik in likelihoods.values())


def rate_distortion(
    x: Tensor, out: Mapping[str, Any], lmbda: float, metric: str = "mse", rate_weight: float = 1.0
) -> dict[str, Tensor]:
    """``lmbda * 255^2 * MSE + rate_weight * bpp`` (or ``lmbda * (1 - MS-SSIM) + ...``) with its
    parts; ``rate_weight`` is the training's rate-weight schedule (1 outside a warm-up)."""
    n, _, h, w = x.shape
    bpp = bits(out["likelihoods"]) / (n * h * w)
    x_hat = out["x_hat"]
    mse = torch.mean((x_hat - x) ** 2)
    result = {"bpp": bpp, "mse": mse, "psnr": -10 * torch.log10(mse.detach().clamp_min(1e-10))}
    if metric == "mse":
        result["distortion"] = 255.0**2 * mse
    elif metric == "ms-ssim":
        from pytorch_msssim import ms_ssim

        value = ms_ssim(x_hat.clamp(0, 1), x, data_range=1.0, size_average=True)
        result["ms_ssim"], result["distortion"] = value, 1.0 - value
    else:
        raise ValueError(f"metric must be 'mse' or 'ms-ssim', got {metric!r}")
    result["loss"] = lmbda * result["distortion"] + (bpp if rate_weight == 1.0 else rate_weight * bpp)
    return result


def psnr(mse: float, peak: float = 1.0) -> float:
    return float("inf") if mse <= 0 else 10 * math.log10(peak**2 / mse)
