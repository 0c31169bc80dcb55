"""A post-filter: a small residual CNN on the decoded image (decoder-side enhancement)."""

from __future__ import annotations

from typing import Any, Mapping

from torch import Tensor, nn

from lic_core.interfaces import PostOnlyStage
from lic_core.layers.channels_last import ChannelsLastSequential


class PostFilter(PostOnlyStage):
    """``post(x_hat) = x_hat + net(x_hat)``; ``pre`` is the identity (nothing is sent for it).

    ``net``: ``depth`` 3x3 convs (``channels`` wide, ReLU between them). Its last conv starts at
    zero, so added to a trained codec (``lic train --init CKPT --init-matching``) it starts as the
    identity and training can only add what filtering the decoded image brings. List it first in
    ``prepost`` to filter the image itself.

    ``unshuffle`` s > 1 runs the convs on ``s x s`` pixel blocks folded into channels
    (``pixel_unshuffle``, as FFDNet does) and unfolds the result: an ``s``-times wider receptive
    field at the cost of full-resolution convs ``channels / s`` wide. Costs about
    ``9 * channels^2 * (depth - 2) / s^2`` MACs per pixel, at decode time only; the image's sides
    must be multiples of ``s`` (they are for any codec of stride ``s`` or more).
    """

    def __init__(
        self,
        in_channels: int,
        layout: Mapping[str, Any] | None = None,
        channels: int = 32,
        depth: int = 4,
        unshuffle: int = 1,
    ) -> None:
        if depth < 2:
            raise ValueError(f"core.postfilter: depth must be at least 2 convs, got {depth}")
        if unshuffle < 1:
            raise ValueError(f"core.postfilter: unshuffle must be at least 1, got {unshuffle}")
        super().__init__(in_channels, layout)
        folded = self.in_channels * unshuffle * unshuffle
        widths = [folded] + [int(channels)] * (depth - 1) + [folded]
        layers: list[nn.Module] = [nn.PixelUnshuffle(unshuffle)] if unshuffle > 1 else []
        for i, (cin, cout) in enumerate(zip(widths, widths[1:])):
            layers += [nn.Conv2d(cin, cout, 3, padding=1)] + ([nn.ReLU(inplace=True)] if i < depth - 1 else [])
        last = layers[-1]
        if unshuffle > 1:
            layers.append(nn.PixelShuffle(unshuffle))
        self.net = ChannelsLastSequential(*layers)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def post(self, x_hat: Tensor) -> Tensor:
        return x_hat + self.net(x_hat)
