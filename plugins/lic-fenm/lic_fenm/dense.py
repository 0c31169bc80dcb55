"""Residual dense block (Zhang et al., RDN): densely connected convs, a 1x1 fusion and a local
residual. FEnM stacks two of them."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class DenseBlock(nn.Module):
    """``layers`` conv3x3+ReLU layers, each seeing all previous outputs (growth ``growth``),
    fused back to ``channels`` by a 1x1 conv and added to the input."""

    def __init__(self, channels: int, layers: int = 4, growth: int = 32) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels + i * growth, growth, 3, padding=1), nn.ReLU(inplace=True))
            for i in range(layers)
        )
        self.fuse = nn.Conv2d(channels + layers * growth, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, dim=1)))
        return x + self.fuse(torch.cat(feats, dim=1))
