"""QECM: quantization error compensation (Jiang et al.).

Training: ``x_hat = mu + Q_K(x - mu)`` with the K-harmonic Fourier approximation of rounding
(for ``y`` and, with ``compensate_z``, for ``z``). Test time: real rounding plus Laplace noise
clipped to [-0.5, 0.5], which models the residual ``round - Q_K`` the network was trained on.
The noise must be identical in the encoder and the decoder, so its seed is a CRC32 of the
decoded latents themselves (they come from the stream, and the container checks that the
decoder reproduced them): decoding the same stream twice gives the same image.
"""

from __future__ import annotations

import zlib

import torch
from torch import Tensor

from lic_core.builtins.quantizers import uniform_noise
from lic_core.interfaces import Quantizer
from lic_qecm.fourier import fourier_round, residual_laplace_scale


def seeded_laplace(like: Tensor, seed: int, mean: float, scale: float) -> Tensor:
    """Laplace(mean, scale) noise clipped to [-0.5, 0.5], drawn on the CPU from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.rand(like.shape, generator=gen, dtype=torch.float64) - 0.5
    noise = mean - scale * torch.sign(u) * torch.log1p(-2 * u.abs())
    return noise.clamp_(-0.5, 0.5).to(device=like.device, dtype=like.dtype)


def content_seed(x: Tensor) -> int:
    """A seed from the exact bytes of ``x`` (identical in encoder and decoder)."""
    return zlib.crc32(x.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())


class QECMQuantizer(Quantizer):
    """QECM quantizer.

    harmonics:    K, the number of Fourier harmonics in training (paper: 5).
    noise_scale:  Laplace scale of the test-time noise; ``None`` = the residual scale of K
                  harmonics (about 0.052 for K=5).
    noise_mean:   Laplace mean (paper: a parameter, 0 here).
    compensate_z: also compensate the hyper latent ``z`` (paper: yes).
    rate:         what the likelihood sees in training: ``"fourier"`` (the same Q_K value) or
                  ``"noise"`` (additive uniform noise) — a choice the paper leaves open.
    """

    def __init__(
        self,
        harmonics: int = 5,
        noise_scale: float | None = None,
        noise_mean: float = 0.0,
        compensate_z: bool = True,
        rate: str = "fourier",
    ) -> None:
        super().__init__()
        if harmonics < 1:
            raise ValueError(f"harmonics must be >= 1, got {harmonics}")
        if rate not in ("fourier", "noise"):
            raise ValueError(f"rate must be 'fourier' or 'noise', got {rate!r}")
        self.harmonics, self.noise_mean, self.compensate_z, self.rate = int(harmonics), float(noise_mean), compensate_z, rate
        self.noise_scale = residual_laplace_scale(self.harmonics) if noise_scale is None else float(noise_scale)

    def _applies(self, latent: str) -> bool:
        return latent != "z" or self.compensate_z

    def train_quantize(self, x: Tensor, means: Tensor | None, latent: str) -> tuple[Tensor, Tensor]:
        centred = x if means is None else x - means
        if self._applies(latent):
            q = fourier_round(centred, self.harmonics)
        else:
            q = centred + (torch.round(centred) - centred).detach()
        x_hat = q if means is None else q + means
        return (uniform_noise(x) if self.rate == "noise" else x_hat), x_hat

    def finalize(self, x_hat: Tensor, latent: str = "y") -> Tensor:
        if not self._applies(latent) or self.noise_scale == 0:
            return x_hat
        return x_hat + seeded_laplace(x_hat, content_seed(x_hat), self.noise_mean, self.noise_scale)

    def extra_repr(self) -> str:
        return f"harmonics={self.harmonics}, noise_scale={self.noise_scale:.4f}, compensate_z={self.compensate_z}, rate={self.rate!r}"
