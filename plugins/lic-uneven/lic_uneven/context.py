"""Per-slice parameter networks of the channel-wise autoregressive model (CCA authors' layout).

For slice ``i`` with context ``c = cat(hyper side, decoded slices in support[i])``:

- means: ``f = NAFStack(c)`` (1x1 to ``width``, ``depth`` NAF blocks + residual, 1x1 back),
  ``mu = conv3x3 -> GELU -> conv3x3 -> GELU -> conv3x3 (hidden[0], hidden[1], slice width)``;
- scales: the same shape with separate weights, on the hyper scales instead of the means;
- latent residual prediction: ``y_hat_i += 0.5 * tanh(LRP(cat(f, y_hat_i)))``, LRP the same
  conv3x3 stack.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from lic_core.coding.parts import GaussianLatent
from lic_core.coding.slices import SliceModel, SliceOutput, check_support, used_slices
from lic_core.interfaces import Quantizer
from lic_core.layers.naf import NAFStack


def conv_stack(in_channels: int, hidden: Sequence[int], out_channels: int) -> nn.Sequential:
    """``conv3x3`` layers through ``hidden`` widths with GELU between them."""
    widths = [in_channels, *hidden, out_channels]
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        if i:
            layers.append(nn.GELU())
        layers.append(nn.Conv2d(widths[i], widths[i + 1], 3, padding=1))
    return nn.Sequential(*layers)


class ChannelARSlices(SliceModel):
    """Parameter networks of every slice; slice ``i`` sees the side and ``support[i]``.

    ``refine``: ``"all"`` applies latent residual prediction to every slice (an entropy model,
    whose decoded ``y`` feeds the synthesis); ``"used"`` only to slices some later slice uses
    as context (an auxiliary model that only needs likelihoods).
    """

    def __init__(
        self,
        side_channels: int,
        groups: Sequence[int],
        support: Sequence[Sequence[int]],
        width: int = 224,
        depth: int = 4,
        hidden: Sequence[int] = (224, 128),
        refine: str = "all",
        levels: int = 256,
    ) -> None:
        super().__init__()
        if refine not in ("all", "used"):
            raise ValueError(f"refine must be 'all' or 'used', got {refine!r}")
        self.groups = tuple(int(g) for g in groups)
        self.support = check_support(support, len(self.groups))
        used = used_slices(self.support)
        self.refined = tuple(refine == "all" or i in used for i in range(len(self.groups)))
        ins = [side_channels + sum(self.groups[j] for j in s) for s in self.support]
        self.mean_features = nn.ModuleList(NAFStack(c, c, width, depth) for c in ins)
        self.scale_features = nn.ModuleList(NAFStack(c, c, width, depth) for c in ins)
        self.mean_heads = nn.ModuleList(conv_stack(c, hidden, g) for c, g in zip(ins, self.groups))
        self.scale_heads = nn.ModuleList(conv_stack(c, hidden, g) for c, g in zip(ins, self.groups))
        self.lrp = nn.ModuleDict(
            {str(i): conv_stack(c + g, hidden, g) for i, (c, g) in enumerate(zip(ins, self.groups)) if self.refined[i]}
        )
        self.latent = GaussianLatent(levels)

    def params(
        self, i: int, means: Tensor, scales: Tensor, decoded: Sequence[Tensor | None]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``(features, mu, sigma)`` of slice ``i`` given the hyper means/scales and decoded slices."""
        ctx = [decoded[j] for j in self.support[i]]
        f = self.mean_features[i](torch.cat([means, *ctx], 1) if ctx else means)
        g = self.scale_features[i](torch.cat([scales, *ctx], 1) if ctx else scales)
        return f, self.mean_heads[i](f), self.scale_heads[i](g)

    def refine(self, i: int, features: Tensor, y_hat: Tensor) -> Tensor:
        """Latent residual prediction of slice ``i`` (identity where the slice has none)."""
        if not self.refined[i]:
            return y_hat
        return y_hat + 0.5 * torch.tanh(self.lrp[str(i)](torch.cat([features, y_hat], 1)))

    def forward(self, y: Tensor, side: tuple[Tensor, Tensor], quantizer: Quantizer) -> SliceOutput:
        means, scales = side
        decoded: list[Tensor | None] = []
        likelihoods = []
        for i, y_i in enumerate(y.split(self.groups, 1)):
            f, mu, sigma = self.params(i, means, scales, decoded)
            y_hat, lik = self.latent(y_i, sigma, mu, quantizer)
            likelihoods.append(lik)
            decoded.append(self.refine(i, f, y_hat) if self.refined[i] else None)
        return SliceOutput(likelihoods, decoded)
