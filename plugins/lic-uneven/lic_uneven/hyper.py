"""The CCA codec's hyper transform: one hyper analysis, two separate hyper syntheses (means
and scales), GELU activations (Han et al., NeurIPS 2024, authors' code)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

import lic_core._quiet  # noqa: F401
from compressai.models.utils import conv, deconv

from lic_core.interfaces import Transform


def _synthesis(z_channels: int, N: int, out: int) -> nn.Sequential:
    return nn.Sequential(
        deconv(z_channels, N, kernel_size=5, stride=2), nn.GELU(),
        deconv(N, N, kernel_size=5, stride=2), nn.GELU(),
        deconv(N, out, kernel_size=3, stride=1),
    )  # fmt: skip


class TwoHeadSynthesis(nn.Module):
    """Two independent synthesis networks whose outputs are concatenated: ``[means, scales]``."""

    def __init__(self, z_channels: int, N: int, out_each: int) -> None:
        super().__init__()
        self.means = _synthesis(z_channels, N, out_each)
        self.scales = _synthesis(z_channels, N, out_each)

    def forward(self, z_hat: Tensor) -> Tensor:
        return torch.cat([self.means(z_hat), self.scales(z_hat)], dim=1)


class MeanScaleHyper(Transform):
    """Hyper analysis ``conv3x3 M->N, GELU, conv5x5/2 N->N, GELU, conv5x5/2 N->Z``; synthesis:
    two mirrored networks ``deconv5x5/2 Z->N, GELU, deconv5x5/2 N->N, GELU, deconv3x3 N->M``
    for the means and the scales, output ``[means, scales]`` (``out_channels = 2 * M``)."""

    def __init__(
        self, in_channels: int = 320, N: int = 256, z_channels: int = 192, out_channels: int | None = None
    ) -> None:
        super().__init__()
        M = int(in_channels)
        out = int(out_channels) if out_channels is not None else 2 * M
        if out % 2:
            raise ValueError(f"MeanScaleHyper outputs means and scales: out_channels must be even, got {out}")
        self.in_channels, self.out_channels, self.latent_channels, self.stride = M, out, int(z_channels), 4
        self.analysis = nn.Sequential(
            conv(M, N, kernel_size=3, stride=1), nn.GELU(),
            conv(N, N, kernel_size=5, stride=2), nn.GELU(),
            conv(N, z_channels, kernel_size=5, stride=2),
        )  # fmt: skip
        self.synthesis = TwoHeadSynthesis(z_channels, N, out // 2)
