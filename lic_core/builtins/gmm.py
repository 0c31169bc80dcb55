"""Discretized Gaussian-mixture entropy model (Cheng et al. 2020), ``core.gmm``.

``y`` is coded with a mixture of ``K`` Gaussians per element, its weights, means and scales
predicted from a hyperprior and (optionally) a spatial context over the 2x2 sub-lattices
(checkerboard by default: CompressAI's serial context of ``cheng2020-attn`` has the same masked
5x5 conv but decodes pixel by pixel). The mixture has no small scale table, so ``y`` is coded
with :class:`~lic_core.coding.discrete.DiscreteLatent` (a probability row per element, built per call).
Like CompressAI's ``GaussianMixtureConditional``, values are rounded without means (the
quantizer is called as ``q(y, None, "y")``): with several means there is no single offset.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

import lic_core._quiet  # noqa: F401  (before compressai)
from compressai.ops import LowerBound

from lic_core.builtins.context import HyperContextEntropyModel
from lic_core.coding.discrete import MAX_SUPPORT, DiscreteLatent
from lic_core.coding.multistage import gather, parse_stages, scatter
from lic_core.coding.parts import HyperSide
from lic_core.interfaces import Quantizer
from lic_core.layers.masked import stage_context_convs

SCALE_MIN = 0.11
TAIL = 4.0
"""Coded support: the mixture's mass outside is at most a unit Gaussian's beyond this many scales
(two-sided: 6e-5, about 4 in 2**16); see :func:`mixture_support`."""


def mixture_cdf(x: Tensor, params: Tensor) -> Tensor:
    """CDF of Gaussian mixtures at ``x`` (n, L); ``params`` (n, 3K) = weights, means, scales."""
    w, m, s = params.unflatten(-1, (3, -1)).unbind(-2)
    k = math.sqrt(0.5) / s  # Phi(x) = erfc((m - x) k) / 2; components first: contiguous rows
    e = torch.erfc(torch.addcmul((m * k).unsqueeze(-1), k.unsqueeze(-1), x.unsqueeze(-2), value=-1.0))  # (n, K, L)
    hw = 0.5 * w
    out = e[:, 0] * hw[:, :1]
    for j in range(1, e.size(1)):  # a running sum: one pass less than a product and a sum
        out = out.addcmul_(e[:, j], hw[:, j : j + 1])
    return out


def mixture_support(params: Tensor, tail: float = TAIL) -> tuple[Tensor, Tensor]:
    """The union over components of ``mean +- t_k scale_k`` of each mixture (n, 3K), where
    component ``k``'s weighted two-sided mass beyond ``t_k`` is ``1/K`` of a unit Gaussian's
    beyond ``tail``: the mixture's mass outside is at most that Gaussian's, and a component of
    small weight gets a narrower range (one of weight 1 about ``tail``; one of weight below the
    bound none), which on a trained model's latents evaluates a third fewer CDF points."""
    w, m, s = params.unflatten(-1, (3, -1)).unbind(-2)
    eps = math.erfc(tail / math.sqrt(2)) / w.size(-1)
    t = math.sqrt(2) * torch.special.erfinv(1 - eps / w.clamp_min(eps))
    return (m - t * s).amin(-1), (m + t * s).amax(-1)


class MixtureParameters(nn.Module):
    """Raw (B, 3KC, ...) network outputs -> (B, C, ..., 3K): softmax weights, means, scales
    bounded below by ``SCALE_MIN``. Channels are ``[weights | means | scales]``, each ``K``
    blocks of ``C`` (component-major, as CompressAI's ``GaussianMixtureConditional``)."""

    def __init__(self, channels: int, K: int) -> None:
        super().__init__()
        self.channels, self.K = int(channels), int(K)
        self.lower_bound_scale = LowerBound(SCALE_MIN)

    def forward(self, raw: Tensor) -> Tensor:
        if raw.size(1) != 3 * self.K * self.channels:
            raise ValueError(f"expected {3 * self.K * self.channels} parameter channels, got {raw.size(1)}")
        w, m, s = raw.float().unflatten(1, (3, self.K, self.channels)).unbind(1)  # each (B, K, C, ...)
        w = torch.softmax(w, dim=1)
        s = self.lower_bound_scale(s)
        return torch.cat([w, m, s], dim=1).movedim(1, -1)


class MixtureCoder(nn.Module):
    """Codes ``y`` in spatial stages (``stages``; one stage: no spatial context), each with
    mixture parameters from ``entropy_parameters([ctx, side])`` at the stage's pixels (a
    pointwise net). The context-coder protocol of :class:`HyperContextEntropyModel`."""

    def __init__(
        self, stages: Any, context: Sequence[nn.Module], entropy_parameters: nn.Module, channels: int, K: int,
        tail: float = TAIL, max_support: int = MAX_SUPPORT,
    ) -> None:  # fmt: skip
        super().__init__()
        self.stages = parse_stages(stages)
        if len(context) != len(self.stages) - 1:
            raise ValueError(f"{len(self.stages)} stages need {len(self.stages) - 1} context modules")
        self.context = nn.ModuleList(context)
        self.entropy_parameters = entropy_parameters
        self.mixture = MixtureParameters(channels, K)
        self.channels, self.tail = int(channels), float(tail)
        self.latent = DiscreteLatent(mixture_cdf, self._support, max_support=max_support)

    def _support(self, params: Tensor) -> tuple[Tensor, Tensor]:
        return mixture_support(params, self.tail)

    @property
    def num_streams(self) -> int:
        return len(self.stages)

    def _params(self, i: int, side: Tensor, y_part: Tensor) -> Tensor:
        stage = self.stages[i]
        parts = [side]
        if self.context:
            ctx = self.context[i - 1](y_part) if i else None
            width = self.context[0].out_channels
            ctx = ctx if ctx is not None else y_part.new_zeros(y_part.size(0), width, *y_part.shape[-2:])
            parts = [ctx, side]
        feats = torch.cat([gather(p, stage) for p in parts], dim=1).unsqueeze(-1)
        return self.mixture(self.entropy_parameters(feats).squeeze(-1))  # (B, C, n, 3K)

    def forward(self, y: Tensor, side: Tensor, q: Quantizer) -> tuple[Tensor, Tensor]:
        y_part, lik = torch.zeros_like(y), torch.zeros_like(y)
        for i, stage in enumerate(self.stages):
            params = self._params(i, side, y_part)
            q_i, lik_i = self.latent(gather(y, stage), params, q)
            lik = scatter(lik, lik_i.to(lik.dtype), stage)
            y_part = scatter(y_part, q_i, stage)
        return y_part, lik

    def compress(self, y: Tensor, side: Tensor) -> tuple[list[list[bytes]], Tensor]:
        y_part, strings = torch.zeros_like(y), []
        for i, stage in enumerate(self.stages):
            st, q_i = self.latent.compress(gather(y, stage), self._params(i, side, y_part))
            strings.append(st)
            y_part = scatter(y_part, q_i.to(y_part.dtype), stage)
        return strings, y_part

    def decompress(self, strings: Sequence[Sequence[bytes]], side: Tensor, shape: Sequence[int]) -> Tensor:
        if len(strings) != len(self.stages):
            raise ValueError(f"expected strings for {len(self.stages)} stages, got {len(strings)}")
        y_part = side.new_zeros(side.size(0), self.channels, *side.shape[-2:])
        for i, stage in enumerate(self.stages):
            q_i = self.latent.decompress(list(strings[i]), self._params(i, side, y_part))
            y_part = scatter(y_part, q_i.to(y_part.dtype), stage)
        return y_part


class GaussianMixtureEntropyModel(HyperContextEntropyModel):
    """Cheng et al. 2020: ``y`` coded with a ``K``-component discretized Gaussian mixture.

    ``hyper`` builds the hyper transform (``hyper(in_channels=M)``; default Cheng's with ``N``
    channels and ``2M`` side features). ``order``: the spatial context's stage order
    (``checkerboard``, ``four-stage``, ... or ``single`` for none); each later stage has a masked
    conv (``kernel_size``) from ``M`` to ``2M`` channels. The entropy parameters are three 1x1
    convs with LeakyReLU, ``context + side -> 10M/3 -> 8M/3 -> 3KM`` (CompressAI's
    ``cheng2020`` widths; only the last layer is wider than its ``2M``). ``tail`` and
    ``max_support`` bound each element's coded support (beyond: escape coding).
    """

    def __init__(
        self,
        M: int,
        N: int = 192,
        K: int = 3,
        hyper: Callable[..., Any] | None = None,
        order: str | Sequence[Sequence[Sequence[int]]] = "checkerboard",
        kernel_size: int = 5,
        tail: float = TAIL,
        max_support: int = MAX_SUPPORT,
    ) -> None:
        from lic_core.builtins.elic import Cheng2020HyperTransform

        if int(K) < 1:
            raise ValueError(f"K must be at least 1, got {K}")
        side = HyperSide(Cheng2020HyperTransform(in_channels=M, N=N) if hyper is None else hyper(in_channels=M))
        stages = parse_stages(order)
        context = stage_context_convs(stages, M, 2 * M, kernel_size) if len(stages) > 1 else []
        cin = (2 * M if context else 0) + int(side.hyper.out_channels)
        act = nn.LeakyReLU
        params = nn.Sequential(
            nn.Conv2d(cin, M * 10 // 3, 1), act(inplace=True),
            nn.Conv2d(M * 10 // 3, M * 8 // 3, 1), act(inplace=True),
            nn.Conv2d(M * 8 // 3, 3 * int(K) * M, 1),
        )  # fmt: skip
        super().__init__(M, side, MixtureCoder(stages, context, params, M, int(K), tail, max_support))
        self.K = int(K)
