"""A layer stack with optional feature blocks between its layers, for backbones that gained a
``block`` slot after weights were shipped: the layers keep their ``nn.Sequential`` names
(``0``, ``1``, ...) and the blocks live under ``blocks.<i>`` (run after layer ``i``), so a stack
without blocks has exactly the old parameter names and one with blocks warm-starts from it."""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor, nn


class ReZero(nn.Module):
    """``x + alpha * (block(x) - x)`` with a per-channel ``alpha`` starting at zero: the block
    starts as the identity (Bachlechner et al. 2021), so adding it to a trained backbone keeps
    that backbone's outputs until training moves ``alpha``."""

    def __init__(self, block: nn.Module, channels: int) -> None:
        super().__init__()
        self.block = block
        self.alpha = nn.Parameter(torch.zeros(1, int(channels), 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.alpha * (self.block(x) - x)


class BlockedSequential(nn.Module):
    """``layers`` applied in order, ``blocks[i]`` after layer ``i``."""

    def __init__(self, layers: Sequence[nn.Module], blocks: Mapping[int, nn.Module]) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)
        self.depth = len(layers)
        self.blocks = nn.ModuleDict({str(i): b for i, b in blocks.items()})

    def forward(self, x: Tensor) -> Tensor:
        for i in range(self.depth):
            x = self._modules[str(i)](x)
            block = self.blocks._modules.get(str(i))
            if block is not None:
                x = block(x)
        return x
