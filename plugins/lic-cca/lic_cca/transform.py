"""``cca.transform``: the CCA paper's CNN backbone (Han et al., NeurIPS 2024, authors' code).

Analysis: for each width ``w`` in ``widths``: conv5x5 stride 2, ``res_blocks`` residual
bottleneck blocks (1x1 -> ReLU -> 3x3 -> ReLU -> 1x1 + skip, CompressAI's), ``blocks`` feature
blocks (NAF by default); then conv5x5 stride 2 to ``M``. The synthesis mirrors it with
transposed convolutions, feature blocks first.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from torch import nn

import lic_core._quiet  # noqa: F401
from compressai.models.sensetime import ResidualBottleneckBlock
from compressai.models.utils import conv, deconv

from lic_core.interfaces import Transform
from lic_core.layers.naf import NAFBlock

_SKIPS = {1: 0, 2: 1, 4: 2, 8: 3}


def _down(cin: int, cout: int, stride: int) -> nn.Module:
    return conv(cin, cout, kernel_size=5, stride=stride)


def _up(cin: int, cout: int, stride: int) -> nn.Module:
    return deconv(cin, cout, kernel_size=5, stride=2) if stride == 2 else conv(cin, cout, kernel_size=5, stride=1)


class CCATransform(Transform):
    """The CCA backbone, stride 16 (``16 // in_stride`` when a pre-processing stage already
    downsampled: that many leading stride-2 layers become stride 1).

    ``block`` builds the feature blocks (``block(channels)``, a block component); the default
    is the NAF block of :mod:`lic_core.layers.naf`.
    """

    def __init__(
        self,
        M: int = 320,
        widths: Sequence[int] = (192, 224, 256),
        res_blocks: int = 3,
        blocks: int = 4,
        block: Callable[..., Any] | None = None,
        in_channels: int = 3,
        in_stride: int = 1,
    ) -> None:
        super().__init__()
        if in_stride not in _SKIPS:
            raise ValueError(f"in_stride must be 1, 2, 4 or 8, got {in_stride}")
        widths = [int(w) for w in widths]
        if not widths:
            raise ValueError("cca.transform needs at least one width")
        make_block = block if block is not None else NAFBlock
        self.in_channels = self.out_channels = int(in_channels)
        self.latent_channels = int(M)
        n = len(widths) + 1  # stride-2 layers
        if (1 << n) < in_stride:
            raise ValueError(f"in_stride {in_stride} exceeds the backbone's stride {1 << n}")
        skip = _SKIPS[in_stride]
        strides = [1 if i < skip else 2 for i in range(n)]
        self.stride = (1 << n) // in_stride
        chans = [self.in_channels, *widths, self.latent_channels]

        analysis: list[nn.Module] = []
        for i, w in enumerate(widths):
            analysis.append(_down(chans[i], w, strides[i]))
            analysis += [ResidualBottleneckBlock(w, w) for _ in range(res_blocks)]
            analysis += [make_block(w) for _ in range(blocks)]
        analysis.append(_down(widths[-1], self.latent_channels, strides[-1]))
        self.analysis = nn.Sequential(*analysis)

        synthesis: list[nn.Module] = []
        for i in reversed(range(len(widths))):
            synthesis.append(_up(chans[i + 2], widths[i], strides[i + 1]))
            synthesis += [make_block(widths[i]) for _ in range(blocks)]
            synthesis += [ResidualBottleneckBlock(widths[i], widths[i]) for _ in range(res_blocks)]
        synthesis.append(_up(widths[0], self.in_channels, strides[0]))
        self.synthesis = nn.Sequential(*synthesis)
