"""Tiny-LIC's analysis/synthesis transforms and hyper transform (Lu et al.).

The main transform stacks four ICSA units. Analysis unit ``i``: a strided conv (5x5 for the
stem, 3x3 after) to width ``widths[i]``, then a residual neighbourhood-attention block. The
synthesis mirrors it: block, then a transposed conv up. ``unit="icrsa"`` (Jiang et al.) puts a
two-stage concatenated residual module between each conv and its block. When a
pre-processing stage replaced the stem (``in_stride > 1``), the stem is a stride-1
``stem_kernel`` conv from the stage's channels. The hyper transform is two such
units with 3x3 neighbourhoods on 192 channels; its synthesis outputs ``2M`` channels.

Strides rely on the codec padding its input to a multiple of its stride (64 with the hyper
transform); the attention itself takes any map size.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from torch import nn

import lic_core._quiet  # noqa: F401
from compressai.models.utils import conv, deconv
from lic_core.interfaces import Transform

from lic_tinylic.blocks import RNAB
from lic_tinylic.crm import ICRSABlock


def drop_path_rates(rate: float, depths: Sequence[int]) -> list[list[float]]:
    """Stochastic-depth rates rising linearly from 0 to ``rate`` over all layers, per stage."""
    n = sum(depths)
    flat = [float(rate) * i / (n - 1) if n > 1 else 0.0 for i in range(n)]
    out, start = [], 0
    for d in depths:
        out.append(flat[start : start + d])
        start += d
    return out


def stage_strides(in_stride: int, stages: int) -> list[int]:
    """Per-stage strides (2 each) with the first ``log2(in_stride)`` set to 1: a pre-processing
    stage that already downsampled by ``in_stride`` takes their place."""
    skip = int(math.log2(in_stride)) if in_stride >= 1 else -1
    if 2**skip != in_stride or skip >= stages:
        allowed = ", ".join(str(2**i) for i in range(stages))
        raise ValueError(f"in_stride must be one of {allowed}, got {in_stride}")
    return [1 if i < skip else 2 for i in range(stages)]


def _up(cin: int, cout: int, kernel: int, stride: int) -> nn.Module:
    return deconv(cin, cout, kernel_size=kernel, stride=2) if stride == 2 else conv(cin, cout, kernel_size=kernel, stride=1)


def _blocks(
    widths: Sequence[int],
    depths: Sequence[int],
    heads: Sequence[int],
    kernel: int,
    mlp_ratio: float,
    drop_path: float,
    backend: str,
    block: Callable[..., Any] | None,
    unit: str = "icsa",
) -> list[nn.Module]:
    if block is not None:
        return [block(w) for w in widths]
    rates = drop_path_rates(drop_path, depths)
    make = ICRSABlock if unit == "icrsa" else RNAB
    return [make(w, d, h, kernel, mlp_ratio, r, backend) for w, d, h, r in zip(widths, depths, heads, rates)]


def _per_stage(value: Any, n: int, name: str) -> list[Any]:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise ValueError(f"{name} needs {n} values (one per stage), got {values}")
    return values


class TinyLICTransform(Transform):
    """Tiny-LIC's main transform: four ICSA units down to ``M`` channels at stride 16.

    Args:
        in_channels: input channels (3 for RGB; a pre-processing stage's width otherwise).
        in_stride: downsampling already done before this transform (1, 2, 4 or 8).
        stem_kernel: kernel of the stride-1 stem conv when ``in_stride > 1`` (3, the kernel
            of Tiny-LIC's feature convs; 5 keeps the image stem's kernel).
        N: base width; stage widths default to ``N, 3N/2, 2N, M``.
        M: latent channels.
        widths, depths, heads: per stage (heads default ``width // 16``).
        kernel: neighbourhood size; mlp_ratio; drop_path: the top stochastic-depth rate.
        block: a block component ref; when given, ``block(width)`` replaces every RNAB.
        unit: ``"icsa"`` (Tiny-LIC) or ``"icrsa"`` (Jiang et al.: a two-stage concatenated
            residual module before each RNAB, keeping the per-stage depths and heads).
        backend: neighbourhood-attention implementation.
    """

    def __init__(
        self,
        in_channels: int = 3,
        in_stride: int = 1,
        N: int = 128,
        M: int = 320,
        widths: Sequence[int] | None = None,
        depths: Sequence[int] = (2, 2, 6, 2),
        heads: Sequence[int] | None = None,
        kernel: int = 7,
        mlp_ratio: float = 2.0,
        drop_path: float = 0.1,
        block: Callable[..., Any] | None = None,
        backend: str = "auto",
        stem_kernel: int = 3,
        unit: str = "icsa",
    ) -> None:
        super().__init__()
        if unit not in ("icsa", "icrsa"):
            raise ValueError(f"unit must be 'icsa' or 'icrsa', got {unit!r}")
        if unit != "icsa" and block is not None:
            raise ValueError("unit='icrsa' builds its own blocks: give either unit or block, not both")
        if stem_kernel < 1 or stem_kernel % 2 == 0:
            raise ValueError(f"stem_kernel must be an odd positive int, got {stem_kernel}")
        widths = list(widths) if widths is not None else [N, N * 3 // 2, N * 2, M]
        n = len(widths)
        if widths[-1] != M:
            raise ValueError(f"the last stage width {widths[-1]} must equal M={M}")
        depths = _per_stage(depths, n, "depths")
        heads = _per_stage(heads, n, "heads") if heads is not None else [max(1, w // 16) for w in widths]
        strides = stage_strides(in_stride, n)
        self.in_channels = self.out_channels = in_channels
        self.latent_channels, self.N = M, N
        self.stride = math.prod(strides)

        stem = 5 if strides[0] == 2 else stem_kernel
        down = _blocks(widths, depths, heads, kernel, mlp_ratio, drop_path, backend, block, unit)
        layers: list[nn.Module] = []
        for i, (w, s) in enumerate(zip(widths, strides)):
            layers += [conv(widths[i - 1] if i else in_channels, w, kernel_size=3 if i else stem, stride=s), down[i]]
        self.analysis = nn.Sequential(*layers)

        rev = widths[::-1]
        up = _blocks(rev, depths[::-1], heads[::-1], kernel, mlp_ratio, drop_path, backend, block, unit)
        layers = []
        for j, w in enumerate(rev):
            i = n - 1 - j
            out = widths[i - 1] if i else in_channels
            layers += [up[j], _up(w, out, 3 if i else stem, strides[i])]
        self.synthesis = nn.Sequential(*layers)


class TinyLICHyper(Transform):
    """Tiny-LIC's hyper transform: ``conv3x3/2 -> RNAB -> conv3x3/2 -> RNAB`` to ``N`` channels,
    mirrored by ``RNAB -> deconv/2 -> RNAB -> deconv/2`` to ``out_channels`` (default ``2M``).

    Args:
        in_channels: ``M``; out_channels: synthesis output (default ``2 * in_channels``).
        N: hyper width (192 = 3/2 of the main N in the paper); depths, heads, kernel per the paper.
        block: a block component ref replacing every RNAB.
    """

    def __init__(
        self,
        in_channels: int = 320,
        out_channels: int | None = None,
        N: int = 192,
        depths: Sequence[int] = (2, 2),
        heads: int | Sequence[int] = 12,
        kernel: int = 3,
        mlp_ratio: float = 2.0,
        drop_path: float = 0.1,
        block: Callable[..., Any] | None = None,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        M, out = in_channels, out_channels or 2 * in_channels
        depths = _per_stage(depths, 2, "depths")
        heads = _per_stage(heads, 2, "heads")
        self.in_channels, self.out_channels, self.latent_channels, self.stride = M, out, N, 4
        down = _blocks([N, N], depths, heads, kernel, mlp_ratio, drop_path, backend, block)
        up = _blocks([N, N], depths[::-1], heads[::-1], kernel, mlp_ratio, drop_path, backend, block)
        self.analysis = nn.Sequential(
            conv(M, N, kernel_size=3, stride=2), down[0], conv(N, N, kernel_size=3, stride=2), down[1]
        )
        self.synthesis = nn.Sequential(
            up[0], deconv(N, N, kernel_size=3, stride=2), up[1], deconv(N, out, kernel_size=3, stride=2)
        )
