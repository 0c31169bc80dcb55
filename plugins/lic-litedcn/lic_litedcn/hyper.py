"""``litedcn.hyper``: the dynamic hyperprior, hyper analysis/synthesis built from Lite-DCN blocks.

Analysis: ``conv3x3(M -> N), block, conv5x5/2, block, conv5x5/2`` to ``z`` (N channels);
synthesis: ``deconv5x5/2, block, deconv5x5/2, block, conv3x3`` to ``out_channels``. This is
ELIC's hyper transform with the activations between layers replaced by Lite-DCN block groups
(one block each by default), which gives the global context a content-adaptive receptive field.
"""

from __future__ import annotations

import lic_core._quiet  # noqa: F401
from compressai.models.utils import conv, deconv
from torch import nn

from lic_core.interfaces import Transform

from lic_litedcn.transform import BlockFactory, make_block


class DynamicHyperTransform(Transform):
    """Dynamic hyper transform (stride 4).

    Args:
        in_channels: M (the latent's channels).
        N: hyper width and ``z`` channels.
        out_channels: what the synthesis outputs (set by the entropy model; default ``2 * M``).
        block: a block factory; default ``litedcn.block`` with ``n=1``.
    """

    def __init__(
        self, in_channels: int = 320, N: int = 192, out_channels: int | None = None, block: BlockFactory | None = None
    ) -> None:
        super().__init__()
        M = int(in_channels)
        out = int(out_channels) if out_channels else 2 * M
        self.in_channels, self.out_channels, self.latent_channels, self.stride = M, out, int(N), 4
        self.analysis = nn.Sequential(
            conv(M, N, kernel_size=3, stride=1), make_block(block, N, n=1),
            conv(N, N, kernel_size=5, stride=2), make_block(block, N, n=1),
            conv(N, N, kernel_size=5, stride=2),
        )  # fmt: skip
        self.synthesis = nn.Sequential(
            deconv(N, N, kernel_size=5, stride=2), make_block(block, N, n=1),
            deconv(N, N, kernel_size=5, stride=2), make_block(block, N, n=1),
            conv(N, out, kernel_size=3, stride=1),
        )  # fmt: skip
