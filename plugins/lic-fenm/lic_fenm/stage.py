"""FEnM: enhance the decoded (refined) feature before the inverse pre-processing.

``pre`` is the identity, so the feature this stage receives on the way in (the encoder's
refined feature, ``F_refined``) and the one its ``post`` returns (``F_enhanced``) sit at the
same index of the codec's ``features`` — what ``fenm.loss`` compares. It enhances FExM's
features (refined by FRM or not), so it must come after ``fexm.stage`` in ``prepost``.
"""

from __future__ import annotations

from typing import Any, Mapping

from torch import Tensor, nn

from lic_core.errors import CompositionError
from lic_core.interfaces import PostOnlyStage
from lic_fenm.dense import DenseBlock


class FEnMStage(PostOnlyStage):
    """Two dense blocks and a conv, with a shortcut from the input (``blocks=1``: Proposed-Tiny).

    blocks: dense blocks (paper: 2). layers, growth: per dense block (a choice).
    width:  channels the blocks work at. The paper does not give it; when it differs from
            the input's, 1x1 convs project into and out of it.
    """

    def __init__(
        self,
        in_channels: int,
        layout: Mapping[str, Any] | None = None,
        blocks: int = 2,
        layers: int = 3,
        growth: int = 16,
        width: int = 40,
    ) -> None:
        producer = dict(layout or {}).get("producer")
        if producer != "fexm.stage":
            got = "the input image" if producer == "image" else f"the output of {producer or 'an unknown stage'}"
            raise CompositionError(
                "fenm.stage enhances the decoded features of fexm.stage (and frm.stage): put it after "
                f"fexm.stage in prepost (it got {got})"
            )
        if blocks < 1:
            raise ValueError(f"fenm.stage: blocks must be >= 1, got {blocks}")
        super().__init__(in_channels, layout)
        w = int(width)
        if w < 1:
            raise ValueError(f"fenm.stage: width must be >= 1, got {width}")
        project = w != in_channels
        self.proj_in = nn.Conv2d(in_channels, w, 1) if project else nn.Identity()
        self.dense = nn.Sequential(*(DenseBlock(w, layers, growth) for _ in range(blocks)))
        self.conv = nn.Conv2d(w, w, 3, padding=1)
        self.proj_out = nn.Conv2d(w, in_channels, 1) if project else nn.Identity()

    def post(self, x_hat: Tensor) -> Tensor:
        return x_hat + self.proj_out(self.conv(self.dense(self.proj_in(x_hat))))
