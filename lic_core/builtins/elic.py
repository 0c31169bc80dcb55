"""Transforms of ELIC (He et al. 2022) and Cheng et al. 2020 (anchor), in the layer layout of
CompressAI's ``Elic2022Official`` and ``Cheng2020Anchor``/``Cheng2020AnchorCheckerboard``, so
their state dicts map index for index (``g_a.i`` -> ``analysis.i``, see :mod:`lic_core.compat`)."""

from __future__ import annotations

from typing import Callable

import lic_core._quiet  # noqa: F401  (before compressai)
from compressai.layers import ResidualBlock, ResidualBlockUpsample, ResidualBlockWithStride, conv3x3, subpel_conv3x3
from compressai.models.utils import conv, deconv
from torch import nn

from lic_core.interfaces import Transform
from lic_core.layers.blocks import Attention, Residual3x3, ResidualBottleneck

BlockFactory = Callable[[int], nn.Module]


def _strides(in_stride: int) -> list[int]:
    """Strides of the four down-sampling layers when a stem already downsampled by ``in_stride``."""
    if in_stride not in (1, 2, 4, 8):
        raise ValueError(f"in_stride must be 1, 2, 4 or 8, got {in_stride}")
    skip = {1: 0, 2: 1, 4: 2, 8: 3}[in_stride]
    return [1 if i < skip else 2 for i in range(4)]


def _down5(cin: int, cout: int, stride: int) -> nn.Module:
    return conv(cin, cout, kernel_size=5, stride=stride)


def _up5(cin: int, cout: int, stride: int) -> nn.Module:
    return deconv(cin, cout, kernel_size=5, stride=2) if stride == 2 else conv(cin, cout, kernel_size=5, stride=1)


class ElicTransform(Transform):
    """ELIC's analysis/synthesis: four conv5x5 stride-2 stages, three residual blocks after each of
    the first three, attention blocks at 1/8 (after the residual blocks) and after the latent
    conv; the synthesis mirrors it with transposed convs.

    ``block`` builds the residual blocks (``block(N)``; default :class:`ResidualBottleneck`);
    ``in_channels``/``in_stride`` let a pre-processing stage replace the stem (the first
    ``log2(in_stride)`` stride-2 layers, and their mirrors, become stride 1).
    """

    def __init__(
        self, N: int = 192, M: int = 320, in_channels: int = 3, in_stride: int = 1, block: BlockFactory | None = None
    ) -> None:
        super().__init__()
        block = block or ResidualBottleneck
        s = _strides(in_stride)
        self.in_channels = self.out_channels = int(in_channels)
        self.latent_channels, self.N, self.stride = int(M), int(N), 16 // in_stride

        def res() -> list[nn.Module]:
            return [block(N), block(N), block(N)]

        self.analysis = nn.Sequential(
            _down5(in_channels, N, s[0]), *res(),
            _down5(N, N, s[1]), *res(), Attention(N),
            _down5(N, N, s[2]), *res(),
            _down5(N, M, s[3]), Attention(M),
        )  # fmt: skip
        self.synthesis = nn.Sequential(
            Attention(M), _up5(M, N, s[3]), *res(),
            _up5(N, N, s[2]), Attention(N), *res(),
            _up5(N, N, s[1]), *res(),
            _up5(N, in_channels, s[0]),
        )  # fmt: skip


class Cheng2020Transform(Transform):
    """Cheng et al. 2020's anchor transform: residual blocks with stride (3x3 convs, GDN) down,
    residual blocks with sub-pixel upsampling (IGDN) up, a residual block between them.

    ``M`` defaults to ``N`` (CompressAI's model); ``block`` builds the plain residual blocks
    (``block(N)``; default :class:`Residual3x3`); ``in_channels``/``in_stride`` as in ELIC.
    """

    def __init__(
        self,
        N: int = 192,
        M: int | None = None,
        in_channels: int = 3,
        in_stride: int = 1,
        block: BlockFactory | None = None,
    ) -> None:
        super().__init__()
        block = block or Residual3x3
        M = int(M or N)
        s = _strides(in_stride)
        self.in_channels = self.out_channels = int(in_channels)
        self.latent_channels, self.N, self.stride = M, int(N), 16 // in_stride
        self.analysis = nn.Sequential(
            ResidualBlockWithStride(in_channels, N, stride=s[0]), block(N),
            ResidualBlockWithStride(N, N, stride=s[1]), block(N),
            ResidualBlockWithStride(N, N, stride=s[2]), block(N),
            conv3x3(N, M, stride=s[3]),
        )  # fmt: skip
        self.synthesis = nn.Sequential(
            block(N) if M == N else ResidualBlock(M, N),
            ResidualBlockUpsample(N, N, s[3]), block(N),
            ResidualBlockUpsample(N, N, s[2]), block(N),
            ResidualBlockUpsample(N, N, s[1]), block(N),
            subpel_conv3x3(N, in_channels, s[0]),
        )  # fmt: skip


class ElicHyperTransform(Transform):
    """ELIC's hyper transform (ReLU; transposed convs up). The synthesis outputs ``out_channels``
    features (default ``2 * N``) that the entropy parameter networks read."""

    def __init__(self, in_channels: int = 320, N: int = 192, out_channels: int | None = None) -> None:
        super().__init__()
        M, out = int(in_channels), int(out_channels or 2 * N)
        self.in_channels, self.out_channels, self.latent_channels, self.stride = M, out, int(N), 4
        self.analysis = nn.Sequential(
            conv(M, N, kernel_size=3, stride=1), nn.ReLU(inplace=True),
            conv(N, N, kernel_size=5, stride=2), nn.ReLU(inplace=True),
            conv(N, N, kernel_size=5, stride=2),
        )  # fmt: skip
        self.synthesis = nn.Sequential(
            deconv(N, N, kernel_size=5, stride=2), nn.ReLU(inplace=True),
            deconv(N, N * 3 // 2, kernel_size=5, stride=2), nn.ReLU(inplace=True),
            deconv(N * 3 // 2, out, kernel_size=3, stride=1),
        )  # fmt: skip


class Cheng2020HyperTransform(Transform):
    """Cheng et al. 2020's hyper transform (3x3 convs, LeakyReLU, sub-pixel upsampling); the
    synthesis outputs ``out_channels`` (default ``2 * in_channels``)."""

    def __init__(self, in_channels: int = 192, N: int = 192, out_channels: int | None = None) -> None:
        super().__init__()
        M = int(in_channels)
        out = int(out_channels or 2 * M)
        self.in_channels, self.out_channels, self.latent_channels, self.stride = M, out, int(N), 4
        act = nn.LeakyReLU
        self.analysis = nn.Sequential(
            conv3x3(M, N), act(inplace=True), conv3x3(N, N), act(inplace=True),
            conv3x3(N, N, stride=2), act(inplace=True), conv3x3(N, N), act(inplace=True),
            conv3x3(N, N, stride=2),
        )  # fmt: skip
        self.synthesis = nn.Sequential(
            conv3x3(N, N), act(inplace=True), subpel_conv3x3(N, N, 2), act(inplace=True),
            conv3x3(N, N * 3 // 2), act(inplace=True), subpel_conv3x3(N * 3 // 2, N * 3 // 2, 2), act(inplace=True),
            conv3x3(N * 3 // 2, out),
        )  # fmt: skip
