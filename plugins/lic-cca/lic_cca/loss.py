"""``cca.loss``: the Causal Context Adjustment loss (Han et al., NeurIPS 2024).

An auxiliary entropy model of the codec's structure, with its own weights, predicts slice
``i`` from the hyperprior and slices ``0 .. i-1-skip`` only (``skip=1``: it never sees the slice
right before). With ``pixels = N * H * W`` of the input:

- ``R_main = sum(-log2 p_main(y)) / pixels``, ``R_aux = sum(-log2 p_aux(y)) / pixels``;
- ``L_cca = R_main - R_aux``: the main model is pushed to be much better than a model that
  lacks the latest context, so information moves into the early slices;
- ``L_auxfit = sum(p_aux(y) * -log2 p_fact(y)) / pixels`` with ``p_fact`` a factorized prior
  over all of ``y`` that the term owns.

The term returns ``alpha * L_cca + L_auxfit``. Nothing is detached (as in the authors' code);
``detach_aux=True`` stops the auxiliary branch (``R_aux`` and ``L_auxfit``) from sending
gradients into the codec (``y`` and the hyper side are detached before the auxiliary model).
The auxiliary modules live under ``codec.losses`` and so never enter coding checkpoints.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor, nn

from lic_core.coding.factorized import EntropyBottleneck
from lic_core.coding.slices import SlicedEntropyModel, skip_previous_support
from lic_core.errors import CompositionError
from lic_core.interfaces import LossTerm


def _detach(side: Any) -> Any:
    if isinstance(side, Tensor):
        return side.detach()
    if isinstance(side, (tuple, list)):
        return type(side)(_detach(s) for s in side)
    if isinstance(side, Mapping):
        return {k: _detach(v) for k, v in side.items()}
    return side


class CCALoss(LossTerm):
    """``alpha * (R_main - R_aux) + L_auxfit`` with an auxiliary model built in :meth:`setup`."""

    def __init__(self, alpha: float = 1.0, detach_aux: bool = False, skip: int = 1, **schedule: float) -> None:
        super().__init__(**schedule)
        if int(skip) < 1:
            raise ValueError(f"cca.loss: skip must be >= 1 (slices hidden from the auxiliary model), got {skip}")
        self.alpha, self.detach_aux, self.skip = float(alpha), bool(detach_aux), int(skip)
        self.aux: nn.Module | None = None
        self.fit: EntropyBottleneck | None = None
        self.last: dict[str, Tensor] = {}

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
        self.fit = EntropyBottleneck(int(em.latent_channels))

    def forward(self, x: Tensor, out: Mapping[str, Any], codec: nn.Module) -> Tensor:
        if self.aux is None or self.fit is None:
            raise RuntimeError("cca.loss was not set up: compose the codec with lic_core.compose (it calls setup)")
        if "side" not in out:
            raise ValueError("cca.loss: the entropy model's forward output has no 'side' (hyperprior context)")
        q = codec.quantizer
        y, side = out["y"], out["side"]
        if self.detach_aux:
            y, side = y.detach(), _detach(side)
        p_aux = torch.cat(self.aux(y, side, q).likelihoods, 1)
        y_rate, _ = q(y, self.fit.medians(), "y")
        p_fact = self.fit.likelihood(y_rate)
        pixels = x.size(0) * x.size(2) * x.size(3)
        r_main = -torch.log2(out["likelihoods"]["y"]).sum() / pixels
        r_aux = -torch.log2(p_aux).sum() / pixels
        cca = r_main - r_aux
        auxfit = (p_aux * -torch.log2(p_fact)).sum() / pixels
        self.last = {"cca": cca.detach(), "auxfit": auxfit.detach(), "r_aux": r_aux.detach()}
        return self.alpha * cca + auxfit
