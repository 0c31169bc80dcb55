"""NAF (nonlinear-activation-free) blocks: Chen et al., "Simple Baselines for Image
Restoration", ECCV 2022, as used by the CCA codec (Han et al., NeurIPS 2024) in its backbone
and its entropy-model parameter networks.

- :class:`LayerNorm2d`: layer norm over the channels of each pixel.
- :class:`SimpleGate`: splits the channels in two halves and multiplies them.
- :class:`SimplifiedChannelAttention` (SCA): multiplies by a 1x1 conv of the global average.
- :class:`NAFBlock`: ``y = x + beta * conv1x1(SCA(SG(dwconv3x3(conv1x1(LN(x))))))``,
  ``out = y + gamma * conv1x1(SG(conv1x1(LN(y))))``; ``beta``/``gamma`` per channel, zero-init.
- :class:`NAFStack`: 1x1 conv in, ``depth`` NAF blocks with a residual around them, 1x1 out.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LayerNorm2d(nn.Module):
    """Layer norm over the channel dimension of a (B, C, H, W) tensor, per pixel."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        x = (x - mu) * torch.rsqrt(var + self.eps)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class SimpleGate(nn.Module):
    """Split the channels in two halves and multiply them (halves the channel count)."""

    def forward(self, x: Tensor) -> Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class SimplifiedChannelAttention(nn.Module):
    """``x * conv1x1(mean_hw(x))``: channel attention without a nonlinearity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.conv(self.pool(x))


class NAFBlock(nn.Module):
    """A NAF block on ``channels`` channels; ``expand`` widens the depthwise and FFN parts."""

    def __init__(self, channels: int, expand: int = 2) -> None:
        super().__init__()
        if channels < 1 or expand < 1:
            raise ValueError(f"NAFBlock needs channels >= 1 and expand >= 1, got {channels}, {expand}")
        wide = channels * expand
        self.channels = channels
        self.norm1 = LayerNorm2d(channels)
        self.expand = nn.Conv2d(channels, wide, 1)
        self.dwconv = nn.Conv2d(wide, wide, 3, padding=1, groups=wide)
        self.gate = SimpleGate()
        self.sca = SimplifiedChannelAttention(wide // 2)
        self.project = nn.Conv2d(wide // 2, channels, 1)
        self.norm2 = LayerNorm2d(channels)
        self.ffn_in = nn.Conv2d(channels, wide, 1)
        self.ffn_out = nn.Conv2d(wide // 2, channels, 1)
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        h = self.dwconv(self.expand(self.norm1(x)))
        h = self.project(self.sca(self.gate(h)))
        y = x + self.beta * h
        h = self.ffn_out(self.gate(self.ffn_in(self.norm2(y))))
        return y + self.gamma * h


class NAFStack(nn.Module):
    """``conv1x1(in -> width)``, ``depth`` NAF blocks plus a residual, ``conv1x1(width -> out)``."""

    def __init__(self, in_channels: int, out_channels: int, width: int, depth: int = 4) -> None:
        super().__init__()
        self.inp = nn.Conv2d(in_channels, width, 1)
        self.blocks = nn.Sequential(*(NAFBlock(width) for _ in range(depth)))
        self.out = nn.Conv2d(width, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.inp(x)
        return self.out(h + self.blocks(h))
