"""``cca.naf``: the NAF block (Chen et al., ECCV 2022) as a lic ``block`` component."""

from __future__ import annotations

from lic_core.interfaces import Block
from lic_core.layers.naf import NAFBlock


class NAF(Block):
    """A shape-preserving NAF block on ``channels`` channels (``expand``: width factor, 2)."""

    def __init__(self, channels: int, expand: int = 2) -> None:
        super().__init__()
        self.channels = int(channels)
        self.block = NAFBlock(self.channels, expand)

    def forward(self, x):
        return self.block(x)
