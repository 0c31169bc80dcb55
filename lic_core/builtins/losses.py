"""Built-in loss term: the rate-distortion objective as a weighted extra term."""

from __future__ import annotations

from typing import Any, Mapping

from torch import Tensor, nn

from lic_core.interfaces import LossTerm
from lic_core.losses import rate_distortion


class RateDistortionTerm(LossTerm):
    """``lmbda * D + bpp`` for ``metric`` ``mse`` or ``ms-ssim``; as an extra term it adds, for
    example, an MS-SSIM objective next to the trainer's MSE one."""

    def __init__(self, lmbda: float = 0.013, metric: str = "mse", **schedule: float) -> None:
        super().__init__(**schedule)
        if metric not in ("mse", "ms-ssim"):
            raise ValueError(f"metric must be 'mse' or 'ms-ssim', got {metric!r}")
        self.lmbda, self.metric = float(lmbda), metric

    def forward(self, x: Tensor, out: Mapping[str, Any], codec: nn.Module) -> Tensor:
        return rate_distortion(x, out, self.lmbda, self.metric)["loss"]
