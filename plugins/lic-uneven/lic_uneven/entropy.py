"""``uneven.channel_ar``: channel-wise autoregressive entropy model with uneven slices, NAF
parameter networks and latent residual prediction (Han et al., "Causal Context Adjustment Loss
for Learned Image Compression", NeurIPS 2024)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from lic_core.coding.parts import HyperSide
from lic_core.coding.slices import SliceModel, make_groups, previous_support
from lic_core.interfaces import EntropyModel

from lic_uneven.context import ChannelARSlices
from lic_uneven.hyper import MeanScaleHyper


class UnevenChannelAR(EntropyModel):
    """``y`` split into slices (``schedule`` or explicit ``groups``), each coded with a Gaussian
    whose mean and scale come from the hyper means/scales and all previously decoded slices.

    The hyperprior is inside: ``z`` (``z_channels``) coded by a factorized prior with
    medians-centred rounding; ``hyper`` may name another hyper transform (a ``transform``
    component built as ``hyper(in_channels=M, out_channels=2*M)`` whose output is
    ``[means, scales]``). Implements :class:`lic_core.coding.slices.SlicedEntropyModel`: its
    forward output carries ``"side"`` = ``(hyper means, hyper scales)``.
    """

    def __init__(
        self,
        M: int,
        schedule: str = "power",
        k: float = 1.7,
        slices: int = 5,
        groups: Sequence[int] | None = None,
        z_channels: int = 192,
        hyper_width: int = 256,
        width: int = 224,
        depth: int = 4,
        hidden: Sequence[int] = (224, 128),
        levels: int = 256,
        hyper: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        self.latent_channels = int(M)
        self.groups = make_groups(self.latent_channels, schedule, k, slices, groups)
        self._net = {
            "width": int(width), "depth": int(depth), "hidden": tuple(int(h) for h in hidden), "levels": int(levels)
        }  # fmt: skip
        if hyper is None:
            transform = MeanScaleHyper(in_channels=M, N=hyper_width, z_channels=z_channels)
        else:
            transform = hyper(in_channels=M, out_channels=2 * M)
        if int(transform.out_channels) != 2 * M:
            raise ValueError(
                f"the hyper transform must output 2*M={2 * M} channels (means, scales), not {transform.out_channels}"
            )
        self.side = HyperSide(transform)
        self.stride = self.side.stride
        self.slices = ChannelARSlices(M, self.groups, previous_support(len(self.groups)), refine="all", **self._net)

    def slice_model(self, support: Sequence[Sequence[int]]) -> SliceModel:
        """A fresh slice model of the same structure (own weights) with the given context."""
        return ChannelARSlices(self.latent_channels, self.groups, support, refine="used", **self._net)

    def forward(self, y: Tensor) -> dict[str, Any]:
        params, z_lik = self.side(y, self.quantizer)
        side = params.chunk(2, 1)
        out = self.slices(y, side, self.quantizer)
        y_hat = torch.cat(out.y_hat, 1)  # type: ignore[arg-type]
        return {"y_hat": y_hat, "likelihoods": {"y": torch.cat(out.likelihoods, 1), "z": z_lik}, "side": side}

    def compress(self, y: Tensor) -> dict[str, Any]:
        params, z_strings = self.side.compress(y, self.quantizer)
        means, scales = params.chunk(2, 1)
        nets, decoded, strings = self.slices, [], []
        for i, y_i in enumerate(y.split(self.groups, 1)):
            f, mu, sigma = nets.params(i, means, scales, decoded)
            s, y_hat = nets.latent.compress(y_i, sigma, mu)
            strings.append(s)
            decoded.append(nets.refine(i, f, y_hat))
        return {"strings": [*strings, z_strings], "shape": tuple(y.shape[-2:]), "y_hat": torch.cat(decoded, 1)}

    def decompress(self, strings: list[list[bytes]], shape: tuple[int, int]) -> dict[str, Any]:
        n = len(self.groups)
        if len(strings) != n + 1:
            raise ValueError(f"uneven.channel_ar expects {n + 1} string lists ({n} slices and z), got {len(strings)}")
        means, scales = self.side.decompress(strings[n], shape, self.quantizer).chunk(2, 1)
        nets, decoded = self.slices, []
        for i in range(n):
            f, mu, sigma = nets.params(i, means, scales, decoded)
            decoded.append(nets.refine(i, f, nets.latent.decompress(strings[i], sigma, mu)))
        return {"y_hat": torch.cat(decoded, 1)}
