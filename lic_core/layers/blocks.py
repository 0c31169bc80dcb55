"""Shape-preserving blocks of the ELIC and Cheng 2020 transforms, as :class:`lic_core.Block`
components built on CompressAI's own modules (so CompressAI weights load unchanged)."""

from __future__ import annotations

import lic_core._quiet  # noqa: F401  (before compressai)
from compressai.layers import AttentionBlock as _AttentionBlock
from compressai.layers import ResidualBlock as _ResidualBlock
from compressai.models.sensetime import ResidualBottleneckBlock as _ResidualBottleneckBlock

from lic_core.interfaces import Block


class ResidualBottleneck(Block, _ResidualBottleneckBlock):
    """``x + conv1x1(ReLU(conv3x3(ReLU(conv1x1(x)))))`` with a ``channels // 2`` bottleneck
    (He et al. 2016; the residual block of ELIC's transforms)."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, channels)
        self.channels = int(channels)


class Attention(Block, _AttentionBlock):
    """Cheng et al. 2020's simplified attention: ``x + a(x) * sigmoid(b(x))`` where ``a`` is three
    residual units and ``b`` three residual units and a 1x1 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.channels = int(channels)


class Residual3x3(Block, _ResidualBlock):
    """``x + LeakyReLU(conv3x3(LeakyReLU(conv3x3(x))))`` (the residual block of Cheng 2020)."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, channels)
        self.channels = int(channels)
