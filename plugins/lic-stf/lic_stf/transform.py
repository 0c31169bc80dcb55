"""STF's symmetrical transformer transforms and hyper transform (Zou et al., CVPR 2022).

Analysis: 2x2 patch embedding (conv + layer norm) to ``embed_dim``, then four Swin stages
(depths [2, 2, 6, 2], heads [3, 6, 12, 24], window 4) with patch merging (layer norm +
linear, 2x2 -> 2C) between them: ``M = 8 * embed_dim`` at stride 16. Synthesis mirrors it with
patch splits (layer norm + linear to 2C + pixel shuffle -> C/2) and ends with
``conv5x5 -> pixel shuffle -> conv3x3``. When a pre-processing stage replaced the patch
embedding (``in_stride > 1``), a stride-1 ``stem_kernel`` conv (+ layer norm) takes the stage's
features and a mirrored conv ends the synthesis. Everything runs on (B, C, H, W) maps; windows
pad internally, strides rely on the codec padding its input to a multiple of its stride.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

import lic_core._quiet  # noqa: F401
from compressai.layers import conv3x3, subpel_conv3x3
from lic_core.interfaces import Transform
from timm.models.swin_transformer import PatchMerging

from lic_stf.blocks import SwinStage


class PatchEmbed(nn.Module):
    """``patch x patch`` conv with that stride, then layer norm over channels (B, C, H, W);
    with ``patch=1`` (a stage replaced the embedding) a stride-1 ``kernel x kernel`` conv."""

    def __init__(self, in_channels: int, dim: int, patch: int, kernel: int = 1) -> None:
        super().__init__()
        k = patch if patch > 1 else kernel
        self.proj = nn.Conv2d(in_channels, dim, k, stride=patch, padding=0 if patch > 1 else k // 2)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()


class Merge(nn.Module):
    """timm's patch merging (2x2 -> 2C, odd sizes padded) on (B, C, H, W); with ``stride=1``
    (a pre-processing stage downsampled already) a layer norm + linear to 2C in place."""

    def __init__(self, dim: int, stride: int) -> None:
        super().__init__()
        if stride == 2:
            self.merge: nn.Module = PatchMerging(dim, 2 * dim)
        else:
            self.merge = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * dim, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.merge(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()


class PatchSplit(nn.Module):
    """STF's patch split: layer norm, linear C -> 2C (no bias), pixel shuffle 2 -> C/2 at 2x
    (with ``stride=1``: linear C -> C/2, no shuffle)."""

    def __init__(self, dim: int, stride: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.reduction = nn.Linear(dim, dim * 2 if stride == 2 else dim // 2, bias=False)
        self.shuffle = nn.PixelShuffle(stride)

    def forward(self, x: Tensor) -> Tensor:
        x = self.reduction(self.norm(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return self.shuffle(x).contiguous()


def _strides(in_stride: int, stages: int) -> list[int]:
    skip = int(math.log2(in_stride)) if in_stride >= 1 else -1
    if 2**skip != in_stride or skip >= stages:
        raise ValueError(f"in_stride must be one of {', '.join(str(2**i) for i in range(stages))}, got {in_stride}")
    return [1 if i < skip else 2 for i in range(stages)]


class STFTransform(Transform):
    """STF's analysis/synthesis pair (see the module doc).

    Args:
        in_channels: input channels; in_stride: downsampling done before (1, 2, 4 or 8; it
            replaces the patch embedding's then the first merges' strides).
        stem_kernel: kernel of the stride-1 embedding conv and of the last synthesis conv
            when ``in_stride > 1`` (3 by default).
        embed_dim: stage-1 width (stage ``i`` has ``embed_dim * 2^i``); ``M`` (optional) must
            equal the last width.
        depths, heads: per analysis stage (the synthesis reverses them).
        window, mlp_ratio, drop_path: Swin settings (drop path rises linearly to ``drop_path``).
        block: a block component ref; when given, ``block(width)`` replaces each Swin stage.
    """

    def __init__(
        self,
        in_channels: int = 3,
        in_stride: int = 1,
        embed_dim: int = 48,
        M: int | None = None,
        depths: Sequence[int] = (2, 2, 6, 2),
        heads: Sequence[int] = (3, 6, 12, 24),
        window: int = 4,
        mlp_ratio: float = 4.0,
        drop_path: float = 0.2,
        block: Callable[..., Any] | None = None,
        stem_kernel: int = 3,
    ) -> None:
        super().__init__()
        if stem_kernel < 1 or stem_kernel % 2 == 0:
            raise ValueError(f"stem_kernel must be an odd positive int, got {stem_kernel}")
        n = len(depths)
        if len(heads) != n:
            raise ValueError(f"heads {list(heads)} and depths {list(depths)} must have one entry per stage")
        dims = [embed_dim * 2**i for i in range(n)]
        if M is not None and M != dims[-1]:
            raise ValueError(f"M={M} must equal embed_dim * 2^{n - 1} = {dims[-1]} in STF")
        strides = _strides(in_stride, n)
        self.in_channels = self.out_channels = in_channels
        self.latent_channels = dims[-1]
        self.stride = math.prod(strides)

        def stages(widths: Sequence[int], ds: Sequence[int], hs: Sequence[int]) -> list[nn.Module]:
            if block is not None:
                return [block(w) for w in widths]
            total = sum(ds)
            rates = [float(drop_path) * i / (total - 1) if total > 1 else 0.0 for i in range(total)]
            starts = [sum(ds[:i]) for i in range(n)]
            return [SwinStage(w, d, h, window, mlp_ratio, rates[s : s + d]) for w, d, h, s in zip(widths, ds, hs, starts)]

        down = stages(dims, depths, heads)
        layers: list[nn.Module] = [PatchEmbed(in_channels, embed_dim, strides[0], stem_kernel)]
        for i in range(n):
            layers.append(down[i])
            if i < n - 1:
                layers.append(Merge(dims[i], strides[i + 1]))
        self.analysis = nn.Sequential(*layers)

        up = stages(dims[::-1], list(depths)[::-1], list(heads)[::-1])
        layers = []
        for j in range(n):
            layers.append(up[j])
            if j < n - 1:
                layers.append(PatchSplit(dims[n - 1 - j], strides[n - 1 - j]))
        if strides[0] == 2:
            layers += [
                nn.Conv2d(embed_dim, embed_dim * 4, 5, padding=2),
                nn.PixelShuffle(2),
                nn.Conv2d(embed_dim, in_channels, 3, padding=1),
            ]
        else:
            layers.append(nn.Conv2d(embed_dim, in_channels, stem_kernel, padding=stem_kernel // 2))
        self.synthesis = nn.Sequential(*layers)


class _MeanScale(nn.Module):
    """Two hyper-synthesis branches; output ``[scales, means]`` on channels."""

    def __init__(self, scale: nn.Module, mean: nn.Module) -> None:
        super().__init__()
        self.scale, self.mean = scale, mean

    def forward(self, z_hat: Tensor) -> Tensor:
        return torch.cat([self.scale(z_hat), self.mean(z_hat)], dim=1)


def _hyper_synthesis(N: int, widths: Sequence[int], out: int) -> nn.Sequential:
    w1, w2, w3 = widths
    return nn.Sequential(
        conv3x3(N, w1), nn.GELU(), subpel_conv3x3(w1, w2, 2), nn.GELU(),
        conv3x3(w2, w3), nn.GELU(), subpel_conv3x3(w3, out, 2), nn.GELU(), conv3x3(out, out),
    )  # fmt: skip


class STFHyper(Transform):
    """STF's hyper transform: five 3x3 convs (GELU, two with stride 2) from ``M`` to ``N``,
    widths stepping evenly (384, 336, 288, 240, 192 at M=384, N=192); two mirrored synthesis
    branches (sub-pixel convs up) give scales and means, ``out_channels / 2`` each."""

    def __init__(self, in_channels: int = 384, out_channels: int | None = None, N: int = 192) -> None:
        super().__init__()
        M = in_channels
        out = out_channels or 2 * M
        if out % 2:
            raise ValueError(f"out_channels must be even (scales and means), got {out}")
        step = (M - N) / 4
        w = [round(M - step * i) for i in range(1, 4)]  # 336, 288, 240
        self.in_channels, self.out_channels, self.latent_channels, self.stride = M, out, N, 4
        self.analysis = nn.Sequential(
            conv3x3(M, M), nn.GELU(), conv3x3(M, w[0]), nn.GELU(), conv3x3(w[0], w[1], stride=2), nn.GELU(),
            conv3x3(w[1], w[2]), nn.GELU(), conv3x3(w[2], N, stride=2),
        )  # fmt: skip
        rev = w[::-1]
        self.synthesis = _MeanScale(_hyper_synthesis(N, rev, out // 2), _hyper_synthesis(N, rev, out // 2))
