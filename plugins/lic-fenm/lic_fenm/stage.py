"""FEnM: enhance the decoded (refined) feature before the inverse pre-processing.

``pre`` is the identity, so the feature this stage receives on the way in (the encoder's
refined feature, ``F_refined``) and the one its ``post`` returns (``F_enhanced``) sit at the
same index of the codec's ``features`` — what ``fenm.loss`` compares.
"""

from __future__ import annotations

from typing import Any, Mapping

from torch import Tensor, nn

from lic_core.interfaces import PostOnlyStage
from lic_fenm.dense import DenseBlock


class FEnMStage(PostOnlyStage):
    """Two dense blocks and a conv, with a shortcut from the input (``blocks=1``: Proposed-Tiny).

    blocks: dense blocks (paper: 2). layers, growth: per dense block (a choice: 4 and 32).
    """

    def __init__(
        self, in_channels: int, layout: Mapping[str, Any] | None = None, blocks: int = 2, layers: int = 4, growth: int = 32
    ) -> None:
        if blocks < 1:
            raise ValueError(f"fenm.stage: blocks must be >= 1, got {blocks}")
        super().__init__(in_channels, layout)
        self.dense = nn.Sequential(*(DenseBlock(in_channels, layers, growth) for _ in range(blocks)))
        self.conv = nn.Conv2d(in_channels, in_channels, 3, padding=1)

    def post(self, x_hat: Tensor) -> Tensor:
        return x_hat + self.conv(self.dense(x_hat))
