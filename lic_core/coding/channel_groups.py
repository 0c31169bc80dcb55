"""Channel-group coding: a latent split into (uneven) channel groups coded one after another.

Group ``k`` is coded by its own inner coder given ``merge(channel_context[k](support), side)``,
where ``support`` is the concatenation of already decoded groups (all earlier groups by
default, as in Minnen & Singh 2020 and ELIC; ``support`` picks others, for example CCA's
auxiliary model skips the group just before). This is CompressAI's
``ChannelGroupsLatentCodec`` made quantizer-aware and reusable with any inner coder.

Inner coders share one protocol (the one :class:`~lic_core.coding.multistage.MultistageCoder`
and :class:`SideGaussianCoder` follow, and :class:`ChannelGroupsCoder` itself, so they nest):

- ``forward(y, side, quantizer) -> (y_hat, likelihoods)``
- ``compress(y, side) -> (strings, y_hat)`` with ``strings`` a list of streams, each a list
  of one ``bytes`` per image; ``num_streams`` says how many;
- ``decompress(strings, side, shape) -> y_hat`` with ``shape`` = (H, W).

``compress`` returns the groups' streams in group order, flattened.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from lic_core.coding.gaussian import GaussianConditional
from lic_core.coding.parts import GaussianCoderBase, GaussianLatent
from lic_core.interfaces import Quantizer


def _merge(ctx: Tensor | None, side: Tensor | None, order: str) -> Tensor | None:
    parts = [ctx, side] if order == "ctx-side" else [side, ctx]
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class SideGaussianCoder(GaussianCoderBase):
    """A latent coded with a Gaussian whose ``(scales, means)`` = ``entropy_parameters(side)``
    (no spatial context): the plain inner coder of a channel group."""

    num_streams = 1

    def __init__(
        self, entropy_parameters: nn.Module, channels: int, *, latent: GaussianLatent | None = None, levels: int = 256
    ) -> None:
        super().__init__(latent, levels)
        self.entropy_parameters = entropy_parameters
        self.channels = int(channels)

    def params(self, side: Tensor) -> tuple[Tensor, Tensor]:
        params = self.entropy_parameters(side)
        if params.size(1) != 2 * self.channels:
            raise ValueError(f"entropy_parameters gave {params.size(1)} channels, expected {2 * self.channels}")
        scales, means = params.chunk(2, 1)
        return scales, means

    def forward(self, y: Tensor, side: Tensor, quantizer: Quantizer) -> tuple[Tensor, Tensor]:
        return self.gaussian(y, *self.params(side), quantizer)

    def compress(self, y: Tensor, side: Tensor) -> tuple[list[list[bytes]], Tensor]:
        strings, y_hat = self.gaussian.compress(y, *self.params(side))
        return [strings], y_hat

    def decompress(
        self, strings: Sequence[Sequence[bytes]], side: Tensor, shape: Sequence[int] | None = None
    ) -> Tensor:
        (streams,) = strings
        return self.gaussian.decompress(list(streams), *self.params(side))


class ChannelGroupsCoder(nn.Module):
    """Codes ``y`` in channel groups (see the module doc).

    Args:
        groups: channels per group (they sum to ``y``'s channels).
        channel_context: one module per group (``None`` where a group has no support, always
            for the first) mapping the concatenated support groups to channel context.
        coders: one inner coder per group.
        support: per group, the indexes of the earlier groups it sees (default: all earlier).
        merge: ``"ctx-side"`` (CompressAI's order) or ``"side-ctx"``.
        latent: the :class:`GaussianLatent` the inner coders share, registered here once.
    """

    def __init__(
        self,
        groups: Sequence[int],
        channel_context: Sequence[nn.Module | None],
        coders: Sequence[nn.Module],
        *,
        support: Sequence[Sequence[int]] | None = None,
        merge: str = "ctx-side",
        latent: GaussianLatent | None = None,
    ) -> None:
        super().__init__()
        self.groups = [int(g) for g in groups]
        n = len(self.groups)
        if len(channel_context) != n or len(coders) != n:
            raise ValueError(
                f"{n} groups need {n} channel_context entries and {n} coders, "
                f"got {len(channel_context)} and {len(coders)}"
            )
        if merge not in ("ctx-side", "side-ctx"):
            raise ValueError(f"merge must be 'ctx-side' or 'side-ctx', got {merge!r}")
        self.support = [list(range(k)) for k in range(n)] if support is None else [list(s) for s in support]
        if len(self.support) != n or any(j < 0 or j >= k for k, s in enumerate(self.support) for j in s):
            raise ValueError(f"support must list, for each of the {n} groups, earlier groups only: {support!r}")
        for k, (ctx, s) in enumerate(zip(channel_context, self.support)):
            if (ctx is None) != (not s):
                raise ValueError(f"group {k}: a channel_context module is needed exactly when the support is not empty")
        self.channel_context = nn.ModuleList(nn.Identity() if c is None else c for c in channel_context)
        self.coders = nn.ModuleList(coders)
        self.merge = merge
        self.channels = sum(self.groups)
        self.num_streams = sum(int(getattr(c, "num_streams", 1)) for c in coders)
        if latent is not None:
            self.latent = latent

    def update(self, force: bool = False) -> bool:
        """Build the CDF tables of every Gaussian coder below, each shared one once."""
        tables = {id(m): m for m in self.modules() if isinstance(m, GaussianConditional)}
        for coder in self.coders:
            gaussian = getattr(coder, "gaussian", None)
            if gaussian is not None:
                tables.setdefault(id(gaussian.gaussian_conditional), gaussian.gaussian_conditional)
        updated = False
        for table in tables.values():
            updated |= bool(table.update(force=force))
        return updated

    def group_side(self, k: int, side: Tensor | None, y_hats: Sequence[Tensor]) -> Tensor | None:
        """The side input of group ``k`` given the decoded groups before it."""
        if not self.support[k]:
            return side
        ctx = self.channel_context[k](torch.cat([y_hats[j] for j in self.support[k]], dim=1))
        return _merge(ctx, side, self.merge)

    def _check(self, y: Tensor) -> None:
        if y.dim() != 4 or y.size(1) != self.channels:
            raise ValueError(f"expected y with {self.channels} channels (groups {self.groups}), got {tuple(y.shape)}")

    def forward(self, y: Tensor, side: Tensor | None, quantizer: Quantizer) -> tuple[Tensor, Tensor]:
        self._check(y)
        y_hats: list[Tensor] = []
        liks: list[Tensor] = []
        for k, y_k in enumerate(y.split(self.groups, dim=1)):
            y_hat, lik = self.coders[k](y_k, self.group_side(k, side, y_hats), quantizer)
            y_hats.append(y_hat)
            liks.append(lik)
        return torch.cat(y_hats, dim=1), torch.cat(liks, dim=1)

    def compress(self, y: Tensor, side: Tensor | None) -> tuple[list[list[bytes]], Tensor]:
        self._check(y)
        y_hats: list[Tensor] = []
        strings: list[list[bytes]] = []
        for k, y_k in enumerate(y.split(self.groups, dim=1)):
            s, y_hat = self.coders[k].compress(y_k, self.group_side(k, side, y_hats))
            strings.extend(s)
            y_hats.append(y_hat)
        return strings, torch.cat(y_hats, dim=1)

    def decompress(
        self, strings: Sequence[Sequence[bytes]], side: Tensor | None, shape: Sequence[int] | None = None
    ) -> Tensor:
        if len(strings) != self.num_streams:
            raise ValueError(f"expected {self.num_streams} streams for groups {self.groups}, got {len(strings)}")
        y_hats: list[Tensor] = []
        start = 0
        for k, coder in enumerate(self.coders):
            n = int(getattr(coder, "num_streams", 1))
            y_hats.append(coder.decompress(strings[start : start + n], self.group_side(k, side, y_hats), shape))
            start += n
        return torch.cat(y_hats, dim=1)
