"""``litedcn.transform``: a CNN backbone whose residual stages are Lite-DCN block groups.

Analysis: ``conv5x5/2 -> block`` three times, then ``conv5x5/2`` to ``M`` (stride 16, ELIC's
layout with each stage's residual blocks replaced by one block group). The synthesis mirrors it
with transposed convs. ``block`` may name any block component (``block(channels)``).
"""

from __future__ import annotations

from typing import Callable

import lic_core._quiet  # noqa: F401
from compressai.models.utils import conv, deconv
from torch import nn

from lic_core.interfaces import Block, Transform

from lic_litedcn.block import LiteDCNBlockGroup

BlockFactory = Callable[[int], Block]


def make_block(block: BlockFactory | None, channels: int, **defaults: object) -> nn.Module:
    """``block(channels)``, or a :class:`LiteDCNBlockGroup` with ``defaults`` when ``block`` is None."""
    return LiteDCNBlockGroup(channels, **defaults) if block is None else block(channels)


def _down(cin: int, cout: int, stride: int) -> nn.Module:
    return conv(cin, cout, kernel_size=5, stride=stride)


def _up(cin: int, cout: int, stride: int) -> nn.Module:
    return deconv(cin, cout, kernel_size=5, stride=2) if stride == 2 else conv(cin, cout, kernel_size=5, stride=1)


class LiteDCNTransform(Transform):
    """Lite-DCN backbone (see the module doc).

    Args:
        N: feature width.
        M: latent channels.
        in_channels: input channels (3, or a pre-stage's output).
        in_stride: 1, 2, 4 or 8; that many leading stride-2 layers become stride 1, so a
            pre-processing stage that already downsampled takes the stem's place.
        block: a block factory (``{id: ...}`` in a recipe); default ``litedcn.block``.
    """

    def __init__(
        self, N: int = 192, M: int = 320, in_channels: int = 3, in_stride: int = 1, block: BlockFactory | None = None
    ) -> None:
        super().__init__()
        if in_stride not in (1, 2, 4, 8):
            raise ValueError(f"in_stride must be 1, 2, 4 or 8, got {in_stride}")
        self.in_channels = self.out_channels = int(in_channels)
        self.latent_channels, self.N = int(M), int(N)
        self.stride = 16 // in_stride
        skip = {1: 0, 2: 1, 4: 2, 8: 3}[in_stride]
        s = [1 if i < skip else 2 for i in range(4)]
        self.analysis = nn.Sequential(
            _down(in_channels, N, s[0]), make_block(block, N),
            _down(N, N, s[1]), make_block(block, N),
            _down(N, N, s[2]), make_block(block, N),
            _down(N, M, s[3]),
        )  # fmt: skip
        self.synthesis = nn.Sequential(
            _up(M, N, s[3]), make_block(block, N),
            _up(N, N, s[2]), make_block(block, N),
            _up(N, N, s[1]), make_block(block, N),
            _up(N, in_channels, s[0]),
        )  # fmt: skip
