"""Tiny-LIC's multistage context model (MCM): channel slices, each with spatial stages.

``y`` (M channels) splits into slices by the cosine schedule (``[24, 69, 104, 123]`` at
M=320). Every slice gets the hyperprior's ``2M`` parameters and a channel context
``cc = conv5x5 -> GELU -> conv5x5 -> GELU -> conv3x3 (2s)`` of ``[params, earlier slices]``;
then, per slice:

- slice 0: four spatial stages over the 2x2 sub-lattices, order (0,0), (1,1), (0,1), (1,0),
  with lattice-masked context convs (3x3 diagonal taps, 5x5 odd-parity taps, 5x5 odd rows
  plus odd columns) whose outputs accumulate (``combine="sum"``; ``"replace"`` gives each
  stage only its own conv's output, as the authors' ``compress`` does);
- middle slices: a two-stage checkerboard, anchors of odd parity first in slice 1, of even
  parity in slice 2 (alternating), with a 5x5 masked conv;
- last slice: channel context only.

The Gaussian parameters come from a 1x1 conv stack (GELU) on ``[params, cc, spatial ctx]``.
Coding is the core's :class:`~lic_core.coding.channel_groups.ChannelGroupsCoder` over
:class:`~lic_core.coding.multistage.MultistageCoder` slices, so ``forward`` in eval mode
reproduces ``decompress(compress(y))`` exactly. The model implements
:class:`~lic_core.coding.slices.SlicedEntropyModel`: :meth:`MultistageContextModel.slice_model`
builds the same slice coders (own weights) whose channel context is a chosen set of earlier
slices, for training objectives such as ``cca.loss``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

from lic_core.builtins.context import HyperContextEntropyModel
from lic_core.coding.channel_groups import ChannelGroupsCoder, SideGaussianCoder
from lic_core.coding.multistage import STAGE_ORDERS, MultistageCoder
from lic_core.coding.parts import GaussianLatent, HyperSide
from lic_core.coding.slices import CoderSliceModel, SliceModel, check_support, make_groups, previous_support
from lic_core.layers.masked import stage_context_convs

COMBINES = ("sum", "replace")


def _conv(cin: int, cout: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2)


def channel_context_net(in_channels: int, s: int) -> nn.Sequential:
    """``conv5x5 -> GELU -> conv5x5 -> GELU -> conv3x3`` to ``2s`` channels."""
    return nn.Sequential(_conv(in_channels, s, 5), nn.GELU(), _conv(s, s, 5), nn.GELU(), _conv(s, 2 * s, 3))


def parameter_net(widths: Sequence[int]) -> nn.Sequential:
    """1x1 convs through ``widths`` with GELU between."""
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        layers += [_conv(widths[i], widths[i + 1], 1), nn.GELU()]
    return nn.Sequential(*layers[:-1])


class _ChannelContext(nn.Module):
    """Inner coder wrapper: ``side = [params, earlier slices]`` becomes ``[params, cc(side)]``."""

    def __init__(self, params_channels: int, net: nn.Module, coder: nn.Module) -> None:
        super().__init__()
        self.params_channels, self.net, self.coder = params_channels, net, coder
        self.num_streams = int(coder.num_streams)

    def _side(self, side: Tensor) -> Tensor:
        return torch.cat([side[:, : self.params_channels], self.net(side)], dim=1)

    def forward(self, y: Tensor, side: Tensor, quantizer: nn.Module) -> tuple[Tensor, Tensor]:
        return self.coder(y, self._side(side), quantizer)

    def compress(self, y: Tensor, side: Tensor) -> tuple[list[list[bytes]], Tensor]:
        return self.coder.compress(y, self._side(side))

    def decompress(self, strings: Sequence[Sequence[bytes]], side: Tensor, shape: Sequence[int] | None = None) -> Tensor:
        return self.coder.decompress(strings, self._side(side), shape)


class MultistageContextModel(HyperContextEntropyModel):
    """Tiny-LIC's entropy model (see the module doc).

    Args:
        M: latent channels.
        hyper: a transform component ref for the hyperprior (default :class:`TinyLICHyper`),
            called as ``hyper(in_channels=M, out_channels=2 * M)``.
        slices: number of channel slices (cosine schedule) unless ``groups`` is given.
        groups: explicit slice sizes.
        combine: ``"sum"`` (slice 0's context outputs accumulate) or ``"replace"``.
        levels: Gaussian scale-table size.
    """

    def __init__(
        self,
        M: int,
        hyper: Callable[..., Any] | None = None,
        slices: int = 4,
        groups: Sequence[int] | None = None,
        combine: str = "sum",
        levels: int = 256,
    ) -> None:
        if combine not in COMBINES:
            raise ValueError(f"combine must be one of {COMBINES}, got {combine!r}")
        groups = make_groups(M, "cosine", slices=slices, groups=groups)
        if len(groups) < 2:
            raise ValueError(f"the multistage context model needs at least 2 slices, got groups {list(groups)}")
        if hyper is None:
            from lic_tinylic.transform import TinyLICHyper

            hyper = TinyLICHyper
        super().__init__(M, HyperSide(hyper(in_channels=M, out_channels=2 * M)))
        self.groups = groups
        self._combine, self._levels = combine, int(levels)
        self.y = GaussianLatent(levels)
        self.coder = self._coder(previous_support(len(groups)), self.y)

    def slice_model(self, support: Sequence[Sequence[int]]) -> SliceModel:
        """Fresh slice coders (own weights) in which slice ``i``'s channel context is ``support[i]``."""
        latent = GaussianLatent(self._levels)
        return CoderSliceModel(self._coder(check_support(support, len(self.groups)), latent, own=True))

    def _coder(self, support: Sequence[Sequence[int]], latent: GaussianLatent, own: bool = False) -> ChannelGroupsCoder:
        """The slice coders for ``support``; ``own``: the coder registers ``latent`` itself."""
        P, combine = 2 * self.latent_channels, self._combine
        coders, contexts = [], []
        last = len(self.groups) - 1
        for k, (s, sup) in enumerate(zip(self.groups, support)):
            seen = sum(self.groups[j] for j in sup)
            if k == last:
                inner: nn.Module = SideGaussianCoder(parameter_net([P + 2 * s, 2 * s, 2 * s, 2 * s]), s, latent=latent)
            else:
                if k == 0:
                    stages, kernels = STAGE_ORDERS["four-stage"], [3, 5, 5]
                else:
                    stages, kernels = STAGE_ORDERS["checkerboard-odd" if k % 2 else "checkerboard"], [5]
                inner = MultistageCoder(
                    stages,
                    stage_context_convs(stages, s, 2 * s, kernels),
                    parameter_net([P + 4 * s, s * 10 // 3, s * 8 // 3, 2 * s]),
                    s,
                    combine=combine if k == 0 else "replace",
                    merge="side-ctx",
                    latent=latent,
                )
            coders.append(_ChannelContext(P, channel_context_net(P + seen, s), inner))
            contexts.append(nn.Identity() if sup else None)
        return ChannelGroupsCoder(
            self.groups, contexts, coders, support=support, merge="side-ctx", latent=latent if own else None
        )
