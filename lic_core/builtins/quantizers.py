"""Built-in quantizers: additive noise, straight-through rounding, and the mix of both."""

from __future__ import annotations

import torch
from torch import Tensor

from lic_core.interfaces import Quantizer


def ste_round(x: Tensor) -> Tensor:
    """Round with an identity gradient (straight-through estimator)."""
    return x + (torch.round(x) - x).detach()


def ste_round_around(x: Tensor, means: Tensor | None) -> Tensor:
    return ste_round(x) if means is None else ste_round(x - means) + means


def uniform_noise(x: Tensor) -> Tensor:
    return x + torch.empty_like(x).uniform_(-0.5, 0.5)


class NoiseQuantizer(Quantizer):
    """Additive uniform noise in training for both the rate and the reconstruction (Ballé et al.)."""

    def train_quantize(self, x: Tensor, means: Tensor | None, latent: str) -> tuple[Tensor, Tensor]:
        noisy = uniform_noise(x)
        return noisy, noisy


class STEQuantizer(Quantizer):
    """Straight-through rounding around the means for both the rate and the reconstruction."""

    def train_quantize(self, x: Tensor, means: Tensor | None, latent: str) -> tuple[Tensor, Tensor]:
        q = ste_round_around(x, means)
        return q, q


class MixedQuantizer(Quantizer):
    """Noise for the rate, straight-through rounding for the reconstruction (Minnen & Singh 2020)."""

    def train_quantize(self, x: Tensor, means: Tensor | None, latent: str) -> tuple[Tensor, Tensor]:
        return uniform_noise(x), ste_round_around(x, means)
