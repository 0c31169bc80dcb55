"""The feature-enhancement loss ``||F_enhanced - F_refined||^2`` (mean over elements)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor, nn

from lic_core.errors import CompositionError
from lic_core.interfaces import LossTerm
from lic_fenm.stage import FEnMStage


class FeatureEnhancementLoss(LossTerm):
    """Mean squared distance between FEnM's output and the feature it received on the encoder
    side. The paper weights it 1 for the first third of training and 0 after: the defaults.

    detach_target: stop the gradient through ``F_refined`` (a choice; off as in the paper's
    formulation, which trains both sides).
    """

    def __init__(self, weight: float = 1.0, start: float = 0.0, until: float = 1 / 3, detach_target: bool = False) -> None:
        super().__init__(weight=weight, start=start, until=until)
        self.detach_target = detach_target
        self.index = -1

    def setup(self, codec: nn.Module) -> None:
        stages = [i for i, s in enumerate(codec.prepost) if isinstance(s, FEnMStage)]
        if not stages:
            raise CompositionError("fenm.loss needs fenm.stage in the recipe's prepost")
        self.index = stages[0]

    def forward(self, x: Tensor, out: Mapping[str, Any], codec: nn.Module) -> Tensor:
        target = out["features"]["pre"][self.index]
        enhanced = out["features"]["post"][self.index]
        if self.detach_target:
            target = target.detach()
        return torch.mean((enhanced - target) ** 2)
