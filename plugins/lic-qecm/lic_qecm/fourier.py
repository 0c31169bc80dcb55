"""The Fourier-series view of rounding that QECM is built on.

``round(x) - x`` is a period-1 sawtooth: ``-(1/pi) * sum_{k>=1} (-1)^(k+1) sin(2 pi k x) / k``.
Keeping ``K`` harmonics gives a differentiable approximation of rounding.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def fourier_round(x: Tensor, harmonics: int) -> Tensor:
    """``Q_K(x) = x - (1/pi) * sum_{k=1..K} (-1)^(k+1) sin(2 pi k x) / k``."""
    k = torch.arange(1, harmonics + 1, device=x.device, dtype=x.dtype)
    signs = torch.where(k % 2 == 1, 1.0, -1.0).to(x.dtype)
    terms = torch.sin(2 * math.pi * x.unsqueeze(-1) * k) * (signs / k)
    return x - terms.sum(-1) / math.pi


def residual_laplace_scale(harmonics: int, samples: int = 200_000) -> float:
    """Laplace scale (mean absolute deviation) of ``round(x) - Q_K(x)`` over one period.

    The residual QECM leaves at test time; about 0.052 for K=5. Computed on a fixed grid, so
    it is deterministic.
    """
    x = (torch.arange(samples, dtype=torch.float64) + 0.5) / samples - 0.5
    return float((torch.round(x) - fourier_round(x, harmonics)).abs().mean())
