"""Jiang et al.'s ICRSA unit: a two-stage concatenated residual module (CRM, Fu et al. 2023)
before Tiny-LIC's residual neighbourhood-attention block.

A residual block is ``x + conv3x3(LeakyReLU(conv3x3(x)))``; the CRM cascades ``stages`` of
them with a shortcut from its input to its output, which widens the receptive field of the
unit's conv before the attention (paper §III-D, Fig. 2).
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from lic_core.interfaces import Block
from lic_tinylic.blocks import RNAB


class ResidualBlock(nn.Module):
    """``x + conv3x3(LeakyReLU(conv3x3(x)))`` at constant width."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.LeakyReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ConcatenatedResidualModule(nn.Module):
    """``stages`` residual blocks in a row with a shortcut around them (two-stage CRM: 2)."""

    def __init__(self, channels: int, stages: int = 2) -> None:
        super().__init__()
        if stages < 1:
            raise ValueError(f"a concatenated residual module needs stages >= 1, got {stages}")
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(stages)))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.blocks(x)


class ICRSABlock(Block):
    """ICRSA's block (B, C, H, W) -> (B, C, H, W): the CRM, then an RNAB.

    Args:
        channels: feature channels ``C``.
        depth, heads, kernel, mlp_ratio, drop_path, backend: the RNAB's (see :class:`RNAB`).
        stages: residual blocks in the CRM (paper: 2).
    """

    def __init__(
        self,
        channels: int,
        depth: int = 2,
        heads: int | None = None,
        kernel: int = 7,
        mlp_ratio: float = 2.0,
        drop_path: float | Sequence[float] = 0.0,
        backend: str = "auto",
        stages: int = 2,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.crm = ConcatenatedResidualModule(channels, stages)
        self.rnab = RNAB(channels, depth, heads, kernel, mlp_ratio, drop_path, backend)

    def forward(self, x: Tensor) -> Tensor:
        return self.rnab(self.crm(x))
