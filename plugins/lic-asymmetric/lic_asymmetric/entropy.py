"""``asymmetric.entropy_model``: DKIC's asymmetric spatial-channel entropy model.

``y`` is split into uneven channel slices (ELIC's [16, 16, 32, 64, 192] at M=320) coded in
turn. Every slice gets the hyperprior's global context and the channel context of all earlier
slices; the spatial context is *asymmetric*: the first slices, which carry most of the energy
and the strongest spatial correlation, are coded in 4 stages over the 2x2 sub-lattices
((0,0), (1,1), (0,1), (1,0)), the rest in the 2-stage checkerboard. Each slice's Gaussian
parameters come from ELIC's parameter aggregation (three 1x1 convs ramping from
``spatial + channel + hyper`` features to ``2 * slice``).

The machinery is the core's: :class:`lic_core.builtins.context.ElicEntropyModel` over
:mod:`lic_core.coding.channel_groups` and :mod:`lic_core.coding.multistage`; this module picks
the per-slice stage orders and the hyperprior.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Sequence

from lic_core.builtins.context import ElicEntropyModel
from lic_core.builtins.elic import ElicHyperTransform
from lic_core.coding.slices import make_groups

STAGE_COUNTS = {1: "single", 2: "checkerboard", 4: "four-stage"}
"""Spatial stage counts and the core stage order each one means."""


def stage_orders(stages: Sequence[int | str], n: int) -> list[str | Any]:
    """One core stage order per slice from stage counts (1, 2, 4) or explicit orders."""
    if len(stages) != n:
        raise ValueError(f"stages gives {len(stages)} entries for {n} slices")
    orders = []
    for s in stages:
        if isinstance(s, int):
            if s not in STAGE_COUNTS:
                raise ValueError(f"a slice is coded in 1, 2 or 4 spatial stages, got {s}")
            orders.append(STAGE_COUNTS[s])
        else:
            orders.append(s)  # a stage order name or nested positions, checked by the core
    return orders


def default_stages(n: int) -> list[int]:
    """DKIC: 4 stages for the first two slices, the checkerboard for the rest."""
    return [4 if i < 2 else 2 for i in range(n)]


class AsymmetricEntropyModel(ElicEntropyModel):
    """Asymmetric spatial-channel entropy model (see the module doc).

    Args:
        M: latent channels.
        groups: slice sizes (default ELIC's proportions 1:1:2:4:12, [16, 16, 32, 64, 192] at M=320).
        stages: spatial stages per slice, 1, 2 or 4 (or a core stage order); default 4 for
            the first two slices and 2 for the rest.
        N: hyper width (``z`` channels of the default hyper transform).
        hyper: the hyper transform (``{id: litedcn.hyper}`` for DKIC's dynamic hyperprior),
            built as ``hyper(in_channels=M, out_channels=side_channels)``; default ELIC's.
        side_channels: width of the hyperprior's global context (default ``2 * N``).
        kernel_size: masked spatial-context conv size.
        channel_hidden: widths of the conv5x5 channel-context nets (ReLU between).
        combine: how 4-stage context outputs form a stage's context (core's ``replace``,
            ``sum`` or ``concat``).
        levels: Gaussian scale-table size.
    """

    def __init__(
        self,
        M: int,
        groups: Sequence[int] | None = None,
        stages: Sequence[int | str] | None = None,
        N: int = 192,
        hyper: Callable[..., Any] | None = None,
        side_channels: int | None = None,
        kernel_size: int = 5,
        channel_hidden: Sequence[int] = (224, 128),
        combine: str = "replace",
        levels: int = 256,
    ) -> None:
        slices = list(make_groups(int(M), "elic", groups=groups))
        stages = default_stages(len(slices)) if stages is None else list(stages)
        width = int(side_channels) if side_channels else 2 * int(N)
        base = partial(ElicHyperTransform, N=N) if hyper is None else hyper
        super().__init__(
            M, N=N, groups=slices, hyper=partial(base, out_channels=width),
            orders=stage_orders(stages, len(slices)), kernel_size=kernel_size,
            context_widths=tuple(channel_hidden), combine=combine, levels=levels,
        )  # fmt: skip
        if int(self.side.hyper.out_channels) != width:
            raise ValueError(f"the hyper transform outputs {self.side.hyper.out_channels} channels, not side_channels={width}")
        self.stages = stages
