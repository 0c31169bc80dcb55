"""``cca.loss``: the Causal Context Adjustment loss (Han et al., NeurIPS 2024).

An auxiliary entropy model of the codec's structure, with its own weights, predicts slice
``i`` from the hyperprior and slices ``0 .. i-1-skip`` only (``skip=1``: it never sees the slice
right before). With ``pixels = N * H * W`` of the input, ``R = sum(-log2 p(y)) / pixels``:

- ``L_cca = R_main - R_aux``: the main model is pushed to be much better than a model that
  lacks the latest context, so information moves into the early slices.

Modes (what trains the auxiliary model, and which gradients reach the codec):

- ``fitted`` (default): the auxiliary model minimises its own rate on the latents it is given
  (a pass on detached inputs: ``auxfit``), so it stays a fitted model; the codec (``y`` and the
  hyper side) receives the gradient of ``alpha * (R_main - R_aux)`` from a second pass with the
  auxiliary weights held fixed, so none of the auxiliary model's gradients come from
  ``-R_aux``. (One pass with a reversed gradient would not do: the likelihood floor lets a
  gradient through or not by its sign, and the two objectives have opposite signs.) The value
  is ``alpha * L_cca + auxfit``.
- ``authors``: the authors' code taken literally, nothing detached: ``alpha * L_cca +
  L_auxfit`` with ``L_auxfit = sum(p_aux(y) * -log2 p_fact(y)) / pixels``, ``p_fact`` a
  factorized prior over all of ``y`` that the term owns. Both parts push ``p_aux`` down with
  respect to the auxiliary weights, which collapse to the likelihood floor.
- ``detached``: the ``authors`` objective with ``y`` and the side detached before the
  auxiliary model (the codec gets ``alpha * R_main`` from the term).

``self.diagnostics`` holds ``R_main``, ``R_aux``, ``L_cca``, ``auxfit`` (the auxiliary model's
fitting objective: ``R_aux`` in ``fitted`` mode, ``L_auxfit`` otherwise) and ``floor`` (the
fraction of auxiliary likelihoods at the Gaussian's lower bound, where no gradient passes;
``floor_main``: the same for the codec's own likelihoods of ``y``).
The auxiliary modules live under ``codec.losses`` and so never enter coding checkpoints.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
from torch import Tensor, nn
from torch.func import functional_call

from lic_core.coding.factorized import EntropyBottleneck
from lic_core.coding.slices import SlicedEntropyModel, skip_previous_support
from lic_core.errors import CompositionError
from lic_core.interfaces import LossTerm

MODES = ("fitted", "authors", "detached")
FLOOR = 1e-9
"""CompressAI's likelihood lower bound: an auxiliary likelihood at it passes no gradient."""


def _at_floor(likelihoods: Tensor) -> Tensor:
    return (likelihoods.detach() <= FLOOR * (1 + 1e-6)).float().mean()


def _map(side: Any, fn: Callable[[Tensor], Tensor]) -> Any:
    if isinstance(side, Tensor):
        return fn(side)
    if isinstance(side, (tuple, list)):
        return type(side)(_map(s, fn) for s in side)
    if isinstance(side, Mapping):
        return {k: _map(v, fn) for k, v in side.items()}
    return side


class CCALoss(LossTerm):
    """The CCA loss in one of :data:`MODES`, with an auxiliary model built in :meth:`setup`."""

    def __init__(self, alpha: float = 1.0, mode: str = "fitted", skip: int = 1, **schedule: float) -> None:
        super().__init__(**schedule)
        if int(skip) < 1:
            raise ValueError(f"cca.loss: skip must be >= 1 (slices hidden from the auxiliary model), got {skip}")
        if mode not in MODES:
            raise ValueError(f"cca.loss: mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.alpha, self.mode, self.skip = float(alpha), mode, int(skip)
        self.aux: nn.Module | None = None
        self.fit: EntropyBottleneck | None = None

    def setup(self, codec: nn.Module) -> None:
        em = codec.entropy_model
        if not isinstance(em, SlicedEntropyModel):
            raise CompositionError(
                f"cca.loss needs an entropy model that exposes its slices "
                f"(lic_core.coding.slices.SlicedEntropyModel); {type(em).__name__} does not"
            )
        n = len(em.groups)
        if n < 2:
            raise CompositionError(f"cca.loss needs at least 2 slices, the entropy model has {n}")
        self.aux = em.slice_model(skip_previous_support(n, self.skip))
        if self.mode != "fitted":
            self.fit = EntropyBottleneck(int(em.latent_channels))

    def forward(self, x: Tensor, out: Mapping[str, Any], codec: nn.Module) -> Tensor:
        if self.aux is None:
            raise RuntimeError("cca.loss was not set up: compose the codec with lic_core.compose (it calls setup)")
        if "side" not in out:
            raise ValueError("cca.loss: the entropy model's forward output has no 'side' (hyperprior context)")
        q = codec.quantizer
        y, side = out["y"], out["side"]
        if self.mode == "detached":
            y, side = y.detach(), _map(side, Tensor.detach)
        if self.mode == "fitted":  # the gap with the auxiliary weights fixed: gradients reach the codec only
            fixed = {name: p.detach() for name, p in self.aux.named_parameters()}
            p_aux = torch.cat(functional_call(self.aux, fixed, (y, side, q)).likelihoods, 1)
        else:
            p_aux = torch.cat(self.aux(y, side, q).likelihoods, 1)
        pixels = x.size(0) * x.size(2) * x.size(3)
        r_main = -torch.log2(out["likelihoods"]["y"]).sum() / pixels
        r_aux = -torch.log2(p_aux).sum() / pixels
        cca = r_main - r_aux
        if self.mode == "fitted":  # the fit on detached inputs: gradients reach the auxiliary weights only
            p_fit = torch.cat(self.aux(y.detach(), _map(side, Tensor.detach), q).likelihoods, 1)
            auxfit = -torch.log2(p_fit).sum() / pixels
            value = self.alpha * cca + auxfit
        else:
            assert self.fit is not None
            y_rate, _ = q(y, self.fit.medians(), "y")
            auxfit = (p_aux * -torch.log2(self.fit.likelihood(y_rate))).sum() / pixels
            value = self.alpha * cca + auxfit
        self.diagnostics = {
            "R_main": r_main.detach(), "R_aux": r_aux.detach(), "L_cca": cca.detach(), "auxfit": auxfit.detach(),
            "floor": _at_floor(p_aux), "floor_main": _at_floor(out["likelihoods"]["y"]),
        }  # fmt: skip
        return value
