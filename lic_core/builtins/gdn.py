"""GDN transforms of Ballé et al. 2018 and Minnen et al. 2018 (the layout of CompressAI's
``ScaleHyperprior``/``MeanScaleHyperprior``, so their weights load unchanged)."""

from __future__ import annotations

from typing import Callable

import lic_core._quiet  # noqa: F401
from compressai.layers import GDN
from compressai.models.utils import conv, deconv
from torch import nn

from lic_core.interfaces import Transform
from lic_core.layers.channels_last import ChannelsLastSequential
from lic_core.layers.stages import BlockedSequential, ReZero


class GDNTransform(Transform):
    """``conv5x5/2 + GDN`` x3 then ``conv5x5/2`` to ``M``; the synthesis mirrors with IGDN.

    ``in_stride`` (2, 4 or 8) replaces that many leading stride-2 layers by stride-1 ones, so a
    pre-processing stage that already downsampled can take the stem's place; the first of them
    (and its synthesis mirror) then has kernel ``stem_kernel`` (3: it adapts the stage's features
    to ``N`` channels; 5 keeps the image stem's kernel).

    ``block`` (a block factory, e.g. ``litedcn.block`` or ``cca.naf``) adds ``block(N)`` after
    each of the three GDNs and after each of the three IGDNs, each gated to start as the
    identity (:class:`~lic_core.layers.stages.ReZero`). Without it the layers and their
    parameter names are exactly the plain transform's, so shipped weights keep their meaning and
    a codec with blocks warm-starts from them (``lic train --init-matching``).
    """

    def __init__(
        self, N: int = 128, M: int = 192, in_channels: int = 3, in_stride: int = 1, stem_kernel: int = 3,
        block: Callable[[int], nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if in_stride not in (1, 2, 4, 8):
            raise ValueError(f"in_stride must be 1, 2, 4 or 8, got {in_stride}")
        if stem_kernel < 1 or stem_kernel % 2 == 0:
            raise ValueError(f"stem_kernel must be an odd positive int, got {stem_kernel}")
        self.in_channels = self.out_channels = in_channels
        self.latent_channels, self.N = M, N
        self.stride = 16 // in_stride
        skip = {1: 0, 2: 1, 4: 2, 8: 3}[in_stride]
        s = [1 if i < skip else 2 for i in range(4)]
        analysis = [
            conv(in_channels, N, kernel_size=5 if s[0] == 2 else stem_kernel, stride=s[0]), GDN(N),
            conv(N, N, stride=s[1]), GDN(N),
            conv(N, N, stride=s[2]), GDN(N),
            conv(N, M, stride=s[3]),
        ]  # fmt: skip
        synthesis = [
            _up(M, N, s[3]), GDN(N, inverse=True),
            _up(N, N, s[2]), GDN(N, inverse=True),
            _up(N, N, s[1]), GDN(N, inverse=True),
            _up(N, in_channels, s[0], stem_kernel),
        ]  # fmt: skip
        if block is None:
            self.analysis = nn.Sequential(*analysis)
            self.synthesis = ChannelsLastSequential(*synthesis)  # decode speed (lic_core.layers.channels_last)
        else:
            self.analysis = BlockedSequential(analysis, {i: ReZero(block(N), N) for i in (1, 3, 5)})
            self.synthesis = BlockedSequential(synthesis, {i: ReZero(block(N), N) for i in (1, 3, 5)})


def _up(cin: int, cout: int, stride: int, kernel: int = 5) -> nn.Module:
    return deconv(cin, cout, stride=2) if stride == 2 else conv(cin, cout, kernel_size=kernel, stride=1)


class _Abs(nn.Module):
    def forward(self, x):
        return x.abs()


class ScaleHyperTransform(Transform):
    """Ballé 2018 hyper transform: ``|y| -> conv3x3 -> ReLU -> conv5x5/2 -> ReLU -> conv5x5/2``;
    the synthesis outputs ``out_channels`` scales (default ``in_channels``) through a ReLU."""

    def __init__(self, in_channels: int = 192, N: int = 128, out_channels: int | None = None) -> None:
        super().__init__()
        M, out = in_channels, out_channels or in_channels
        self.in_channels, self.out_channels, self.latent_channels, self.stride = M, out, N, 4
        self.analysis = nn.Sequential(
            _Abs(), conv(M, N, stride=1, kernel_size=3), nn.ReLU(inplace=True),
            conv(N, N), nn.ReLU(inplace=True), conv(N, N),
        )  # fmt: skip
        self.synthesis = nn.Sequential(
            deconv(N, N), nn.ReLU(inplace=True), deconv(N, N), nn.ReLU(inplace=True),
            conv(N, out, stride=1, kernel_size=3), nn.ReLU(inplace=True),
        )  # fmt: skip


class MeanScaleHyperTransform(Transform):
    """Minnen 2018 hyper transform with LeakyReLU; the synthesis outputs ``out_channels``
    (default ``2 * in_channels``: scales then means)."""

    def __init__(self, in_channels: int = 192, N: int = 128, out_channels: int | None = None) -> None:
        super().__init__()
        M = in_channels
        out = out_channels or 2 * M
        self.in_channels, self.out_channels, self.latent_channels, self.stride = M, out, N, 4
        self.analysis = nn.Sequential(
            conv(M, N, stride=1, kernel_size=3), nn.LeakyReLU(inplace=True),
            conv(N, N), nn.LeakyReLU(inplace=True), conv(N, N),
        )  # fmt: skip
        self.synthesis = nn.Sequential(
            deconv(N, M), nn.LeakyReLU(inplace=True),
            deconv(M, M * 3 // 2), nn.LeakyReLU(inplace=True),
            conv(M * 3 // 2, out, stride=1, kernel_size=3),
        )  # fmt: skip
