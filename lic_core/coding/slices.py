"""Channel slices of a channel-wise autoregressive entropy model.

Two things live here:

**Slice schedules** (how ``M`` latent channels are split into groups, coded in order):

- :func:`proportional_groups`: ``floor(M * p_i / sum(p))`` per slice, the last slice takes the
  remainder (the rule of the CCA authors' code);
- :func:`power_groups`: proportions ``[1, 2^k, ..., n^k]`` (CCA's uneven grouping; k=1.7 gives
  [8, 28, 56, 92, 136] at M=320, k=0 gives even slices);
- :func:`cosine_groups`: Tiny-LIC's ``n_t = ceil(cos(t/n * pi/2) * M)`` remaining channels,
  slice sizes are the differences (M=320, n=4: [24, 69, 104, 123]);
- ``"elic"``: proportions [1, 1, 2, 4, 12] ([16, 16, 32, 64, 192] at M=320);
- :func:`even_groups`: ``n`` slices as equal as possible.

**The sliced-entropy-model protocol.** A training objective such as the Causal Context
Adjustment loss needs, from the codec's entropy model, its slice structure and a second model
*of the same structure with its own weights* whose slices see a different subset of the
previously decoded slices. An entropy model opts in by implementing
:class:`SlicedEntropyModel`:

- ``latent_channels`` and ``groups`` (slice sizes, in coding order, summing to
  ``latent_channels``);
- its ``forward(y)`` output carries ``"side"``: the hyperprior context (whatever its slice
  models take, for example the hyper means and scales) computed in that same forward pass;
- ``slice_model(support)`` returns a fresh :class:`SliceModel` (new weights, same structure)
  in which slice ``i`` is predicted from the side and the decoded slices ``support[i]``
  (each index ``< i``). ``previous_support(n)`` reproduces the entropy model itself,
  ``skip_previous_support(n)`` is CCA's auxiliary model. A model that caps its own context
  applies the same cap to ``support`` (for example, at most the first ``k`` slices of each
  set), so that ``previous_support(n)`` still reproduces it.

A :class:`SliceModel` maps ``(y, side, quantizer)`` to a :class:`SliceOutput`: the Gaussian
likelihoods of each slice of ``y`` (train-time rate values from the quantizer) and the decoded
slices it had to compute (only those some later slice uses, :func:`used_slices`, unless it was
asked for all).
Entropy models built on :class:`~lic_core.coding.channel_groups.ChannelGroupsCoder` get one
by wrapping a fresh coder with the wanted ``support`` in :class:`CoderSliceModel` (the core's
``core.elic-groups``, ``tinylic.mcm``, ``asymmetric.entropy_model``, ``stf.channel_ar``; their
base :class:`~lic_core.builtins.context.HyperContextEntropyModel` returns its hyperprior
features as ``"side"``). The conformance kit's ``slices`` check tests every entropy model that
declares the protocol: the auxiliary model built with :func:`skip_previous_support` must never
see the slice right before (nor any later one).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

from torch import Tensor, nn

SCHEDULES = ("power", "elic", "cosine", "even")
ELIC_PROPORTIONS = (1, 1, 2, 4, 12)


def _checked(groups: Sequence[int], M: int, what: str) -> tuple[int, ...]:
    groups = tuple(int(g) for g in groups)
    if not groups or min(groups) < 1:
        raise ValueError(f"{what} gives an empty slice for M={M}: {list(groups)} (use fewer slices or a larger M)")
    if sum(groups) != M:
        raise ValueError(f"{what}: slice sizes {list(groups)} sum to {sum(groups)}, not M={M}")
    return groups


def proportional_groups(M: int, proportions: Sequence[float]) -> tuple[int, ...]:
    """``floor(M * p / sum(p))`` per slice, the last slice taking the remainder."""
    total = float(sum(proportions))
    if not proportions or total <= 0 or min(proportions) <= 0:
        raise ValueError(f"slice proportions must be positive, got {list(proportions)}")
    sizes = [math.floor(M * p / total) for p in proportions]
    sizes[-1] += M - sum(sizes)
    return _checked(sizes, M, f"proportions {list(proportions)}")


def power_groups(M: int, k: float = 1.7, slices: int = 5) -> tuple[int, ...]:
    """CCA's uneven grouping: proportions ``[1, 2^k, ..., slices^k]``."""
    return proportional_groups(M, [float(i) ** float(k) for i in range(1, int(slices) + 1)])


def even_groups(M: int, slices: int) -> tuple[int, ...]:
    """``slices`` slices of ``M // slices`` channels, the first ``M % slices`` one larger."""
    n = int(slices)
    if n < 1:
        raise ValueError(f"need at least one slice, got {slices}")
    return _checked([M // n + (1 if i < M % n else 0) for i in range(n)], M, f"{n} even slices")


def cosine_groups(M: int, slices: int = 4) -> tuple[int, ...]:
    """Tiny-LIC: ``n_t = ceil(cos(t/slices * pi/2) * M)`` channels remain after slice ``t``."""
    n = int(slices)
    remaining = [math.ceil(round(math.cos(t / n * math.pi / 2) * M, 9)) for t in range(n + 1)]
    return _checked([remaining[t] - remaining[t + 1] for t in range(n)], M, f"cosine schedule with {n} slices")


def make_groups(
    M: int, schedule: str = "power", k: float = 1.7, slices: int = 5, groups: Sequence[int] | None = None
) -> tuple[int, ...]:
    """Slice sizes from explicit ``groups`` or a named ``schedule`` (one of :data:`SCHEDULES`)."""
    if groups is not None:
        return _checked(groups, M, f"groups {list(groups)}")
    if schedule == "power":
        return power_groups(M, k, slices)
    if schedule == "elic":
        return proportional_groups(M, ELIC_PROPORTIONS)
    if schedule == "cosine":
        return cosine_groups(M, slices)
    if schedule == "even":
        return even_groups(M, slices)
    raise ValueError(f"unknown slice schedule {schedule!r} (choose one of {', '.join(SCHEDULES)}, or give groups)")


def previous_support(n: int) -> tuple[tuple[int, ...], ...]:
    """Slice ``i`` sees every previous slice (a channel-wise autoregressive model)."""
    return tuple(tuple(range(i)) for i in range(n))


def skip_previous_support(n: int, skip: int = 1) -> tuple[tuple[int, ...], ...]:
    """Slice ``i`` sees slices ``0 .. i-1-skip``: the ``skip`` slices right before it are hidden."""
    return tuple(tuple(range(max(i - skip, 0))) for i in range(n))


def check_support(support: Sequence[Sequence[int]], n: int) -> tuple[tuple[int, ...], ...]:
    """Validate that ``support`` has one entry per slice and only refers to earlier slices."""
    if len(support) != n:
        raise ValueError(f"support has {len(support)} entries for {n} slices")
    out = tuple(tuple(sorted(int(j) for j in s)) for s in support)
    for i, s in enumerate(out):
        if any(j < 0 or j >= i for j in s):
            raise ValueError(f"slice {i} may only use earlier slices as context, got {list(s)}")
    return out


def used_slices(support: Sequence[Sequence[int]]) -> frozenset[int]:
    """The slices some slice sees as context: a model that only needs likelihoods computes the
    decoded value (for example latent residual prediction) of these slices only."""
    return frozenset(int(j) for s in support for j in s)


@dataclass
class SliceOutput:
    """What a :class:`SliceModel` computes: per-slice likelihoods and decoded slices
    (``None`` where no later slice needed one and all were not asked for)."""

    likelihoods: list[Tensor]
    y_hat: list[Tensor | None] = field(default_factory=list)


class SliceModel(nn.Module, ABC):
    """Per-slice Gaussian parameters of ``y`` from a hyperprior side and chosen decoded slices."""

    groups: tuple[int, ...]
    support: tuple[tuple[int, ...], ...]

    @abstractmethod
    def forward(self, y: Tensor, side: Any, quantizer: nn.Module) -> SliceOutput:
        """Likelihoods of every slice of ``y`` given ``side`` and the slices in ``support``."""


@runtime_checkable
class SlicedEntropyModel(Protocol):
    """An entropy model that exposes its slice structure (see the module docstring)."""

    latent_channels: int
    groups: tuple[int, ...]

    def slice_model(self, support: Sequence[Sequence[int]]) -> SliceModel:
        """A fresh slice model of this model's structure, with its own weights."""
        ...


class CoderSliceModel(SliceModel):
    """A :class:`SliceModel` around a :class:`~lic_core.coding.channel_groups.ChannelGroupsCoder`
    (whose ``support`` sets the context), for entropy models built on that coder: their
    ``slice_model(support)`` builds a fresh coder with that support and wraps it here. ``side``
    is the coder's side input."""

    def __init__(self, coder: nn.Module) -> None:
        super().__init__()
        self.coder = coder
        self.groups = tuple(int(g) for g in coder.groups)
        self.support = check_support(coder.support, len(self.groups))

    def forward(self, y: Tensor, side: Any, quantizer: nn.Module) -> SliceOutput:
        y_hat, lik = self.coder(y, side, quantizer)
        return SliceOutput(list(lik.split(self.groups, 1)), list(y_hat.split(self.groups, 1)))
