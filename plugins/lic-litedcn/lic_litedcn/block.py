"""``litedcn.block``: the dynamic residual block group of DKIC.

Dynamic residual block: ``x + conv1x1(GELU(LiteDCN(LN(x))))``. Group: ``n`` such blocks, a
conv3x3, plus the group's input (a long skip), so the group is shape-preserving and can stand
in for the residual stages of any backbone that takes a ``block``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from lic_core.interfaces import Block
from lic_core.layers.naf import LayerNorm2d

from lic_litedcn.litedcn import LiteDCN


class DynamicResidualBlock(nn.Module):
    """``x + conv1x1(GELU(LiteDCN(LN(x))))``."""

    def __init__(self, channels: int, **dcn: object) -> None:
        super().__init__()
        self.norm = LayerNorm2d(channels)
        self.dcn = LiteDCN(channels, **dcn)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.proj(F.gelu(self.dcn(self.norm(x))))


class LiteDCNBlockGroup(Block):
    """``n`` dynamic residual blocks, conv3x3, plus the input.

    Args:
        channels: C.
        n: dynamic residual blocks in the group.
        groups: Lite-DCN channel groups G (default: C // 16 when 16 divides C, else 1).
        kernel_size: Lite-DCN K.
        kernel: ``"pytorch"`` (grid_sample, default) or ``"torchvision"`` (deform_conv2d).
        offset_scale: Lite-DCN offset scale.
    """

    def __init__(
        self,
        channels: int,
        n: int = 3,
        groups: int | None = None,
        kernel_size: int = 3,
        kernel: str = "pytorch",
        offset_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if n < 1:
            raise ValueError(f"a Lite-DCN block group needs n >= 1 blocks, got {n}")
        self.channels = int(channels)
        dcn = {"groups": groups, "kernel_size": kernel_size, "kernel": kernel, "offset_scale": offset_scale}
        self.blocks = nn.Sequential(*(DynamicResidualBlock(self.channels, **dcn) for _ in range(int(n))))
        self.conv = nn.Conv2d(self.channels, self.channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(self.blocks(x))
