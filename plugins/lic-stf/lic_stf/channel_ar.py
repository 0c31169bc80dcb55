"""STF's channel-wise autoregressive entropy model (Minnen & Singh 2020 as used by Zou et al.).

``y`` splits into ``slices`` equal channel slices (12 of 32 at M=384). Slice ``i`` sees the
hyperprior's means and scales and the first ``min(i, max_support)`` decoded slices (the
authors keep the *first* six): ``mu = cc_mean([means, support])``,
``sigma = cc_scale([scales, support])``, each a stack of 3x3 convs (224, 176, 128, 64 wide,
GELU). After coding, latent residual prediction adds ``0.5 * tanh(lrp([means, support,
y_hat_i]))`` to the slice. Coding runs through the core's
:class:`~lic_core.coding.channel_groups.ChannelGroupsCoder`.

The model implements the core's sliced-entropy-model protocol
(:class:`~lic_core.coding.slices.SlicedEntropyModel`), so that training objectives such as
the CCA loss can build a second model of its structure with another context: a support set
is capped the way the model caps its own (the first ``max_support`` slices of each set).
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

from lic_core.builtins.context import HyperContextEntropyModel
from lic_core.coding.channel_groups import ChannelGroupsCoder
from lic_core.coding.parts import GaussianCoderBase, GaussianLatent, HyperSide
from lic_core.coding.slices import (
    CoderSliceModel,
    SliceModel,
    check_support,
    even_groups,
    previous_support,
    used_slices,
)
from lic_core.interfaces import Quantizer

WIDTHS = (224, 176, 128, 64)


def conv_stack(in_channels: int, out_channels: int, widths: Sequence[int] = WIDTHS) -> nn.Sequential:
    """3x3 convs through ``widths`` to ``out_channels`` with GELU between."""
    chans = [in_channels, *widths, out_channels]
    layers: list[nn.Module] = []
    for a, b in zip(chans[:-1], chans[1:]):
        layers += [nn.Conv2d(a, b, 3, padding=1), nn.GELU()]
    return nn.Sequential(*layers[:-1])


class LRPSliceCoder(GaussianCoderBase):
    """One slice: Gaussian from the mean/scale nets, then latent residual prediction.

    ``side`` is ``[scales (M), means (M), support slices]``; the returned ``y_hat`` includes the
    LRP term, so later slices see it as their support (as in STF). ``refine=False`` drops the
    LRP (a likelihood-only slice model whose slice no later slice sees).
    """

    num_streams = 1

    def __init__(
        self, M: int, support: int, channels: int, widths: Sequence[int], latent: GaussianLatent, refine: bool = True
    ) -> None:
        super().__init__(shared=latent)  # registered by its owner (entropy model or slice coder)
        self.M = M
        self.cc_mean = conv_stack(M + support, channels, widths)
        self.cc_scale = conv_stack(M + support, channels, widths)
        self.lrp = conv_stack(M + support + channels, channels, widths) if refine else None

    def _params(self, side: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        scales, rest = side[:, : self.M], side[:, self.M :]
        support = rest[:, self.M :]
        mean_support = rest
        return self.cc_scale(torch.cat([scales, support], dim=1)), self.cc_mean(mean_support), mean_support

    def _refine(self, y_hat: Tensor, mean_support: Tensor) -> Tensor:
        if self.lrp is None:
            return y_hat
        return y_hat + 0.5 * torch.tanh(self.lrp(torch.cat([mean_support, y_hat], dim=1)))

    def forward(self, y: Tensor, side: Tensor, quantizer: Quantizer) -> tuple[Tensor, Tensor]:
        scale, mu, mean_support = self._params(side)
        y_hat, lik = self.gaussian(y, scale, mu, quantizer)
        return self._refine(y_hat, mean_support), lik

    def compress(self, y: Tensor, side: Tensor) -> tuple[list[list[bytes]], Tensor]:
        scale, mu, mean_support = self._params(side)
        strings, y_hat = self.gaussian.compress(y, scale, mu)
        return [strings], self._refine(y_hat, mean_support)

    def decompress(self, strings: Sequence[Sequence[bytes]], side: Tensor, shape: Sequence[int] | None = None) -> Tensor:
        scale, mu, mean_support = self._params(side)
        y_hat = self.gaussian.decompress(list(strings[0]), scale, mu)
        return self._refine(y_hat, mean_support)


class ChannelAREntropyModel(HyperContextEntropyModel):
    """STF's entropy model (see the module doc).

    A :class:`~lic_core.coding.slices.SlicedEntropyModel`: ``forward`` returns ``"side"``, the
    hyper synthesis ``[scales, means]`` (the slice coders' side input), and :meth:`slice_model`
    builds a fresh coder of the same structure.

    Args:
        M: latent channels.
        hyper: a transform component ref (default :class:`STFHyper`), called as
            ``hyper(in_channels=M, out_channels=2 * M)``; its synthesis gives scales then means.
        slices: equal channel slices; max_support: at most this many (the first) as support.
        widths: hidden widths of the 3x3 conv stacks.
        levels: Gaussian scale-table size.
    """

    def __init__(
        self,
        M: int,
        hyper: Callable[..., Any] | None = None,
        slices: int = 12,
        max_support: int = 6,
        widths: Sequence[int] = WIDTHS,
        levels: int = 256,
    ) -> None:
        if M % slices:
            raise ValueError(f"M={M} must split into {slices} equal slices")
        if max_support < 0:
            raise ValueError(f"max_support must be >= 0, got {max_support}")
        if hyper is None:
            from lic_stf.transform import STFHyper

            hyper = STFHyper
        super().__init__(M, HyperSide(hyper(in_channels=M, out_channels=2 * M)))
        self.groups = even_groups(M, slices)
        self.max_support = int(max_support)
        self._widths = tuple(int(w) for w in widths)
        self._levels = int(levels)
        self.y = GaussianLatent(levels)
        self.coder = self._coder(self.capped(previous_support(slices)), refine=range(slices))

    def capped(self, support: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
        """Each slice's support cut to its first ``max_support`` slices (the model's own cap)."""
        return tuple(s[: self.max_support] for s in check_support(support, len(self.groups)))

    def slice_model(self, support: Sequence[Sequence[int]]) -> SliceModel:
        """A fresh slice model (own weights) in which slice ``i`` sees the capped ``support[i]``;
        it only needs likelihoods, so only the slices some slice sees get LRP."""
        support = self.capped(support)
        return CoderSliceModel(self._coder(support, used_slices(support), GaussianLatent(self._levels)))

    def _coder(
        self, support: Sequence[Sequence[int]], refine: Container[int], latent: GaussianLatent | None = None
    ) -> ChannelGroupsCoder:
        """Slice coders for ``support`` (already capped), LRP on the slices in ``refine``.
        ``latent``: a Gaussian the coder registers as its own (default: the shared ``self.y``)."""
        gaussian = self.y if latent is None else latent
        s = self.groups[0]
        coders = [
            LRPSliceCoder(self.latent_channels, s * len(sup), s, self._widths, gaussian, refine=i in refine)
            for i, sup in enumerate(support)
        ]
        contexts = [nn.Identity() if sup else None for sup in support]
        return ChannelGroupsCoder(self.groups, contexts, coders, support=support, merge="side-ctx", latent=latent)

    def forward(self, y: Tensor) -> dict[str, Any]:
        """The base's output plus ``"side"`` (the slice protocol)."""
        params, z_lik = self.side(y, self.quantizer)
        y_hat, y_lik = self.coder(y, params, self.quantizer)
        return {"y_hat": y_hat, "likelihoods": {"y": y_lik, "z": z_lik}, "side": params}
