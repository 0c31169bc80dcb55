"""FRM: stack FExM's image and sub-image features along a new "time" axis and refine them with
the 3-D attention refinement block, then reshape back to 2-D features for the backbone."""

from __future__ import annotations

from typing import Any, Mapping

from torch import Tensor

from lic_core.errors import CompositionError
from lic_core.interfaces import PrePost
from lic_frm.attention3d import AttentionRefinementBlock


class FRMStage(PrePost):
    """Feature refinement module (must come right after ``fexm.stage`` in ``prepost``).

    variant:   ``"full"`` (the paper's ARB) or ``"tiny"`` ("Proposed-Tiny").
    blocks:    3-D residual blocks in the attention block (paper: 3).
    levels:    residual blocks per cascade (paper Fig. 5: 1, 2 or 3; default 2).
    reduction: channel-attention reduction ratio.
    """

    def __init__(
        self,
        in_channels: int,
        layout: Mapping[str, Any] | None = None,
        variant: str = "full",
        blocks: int = 3,
        levels: int = 2,
        reduction: int = 4,
    ) -> None:
        super().__init__()
        layout = dict(layout or {})
        if layout.get("producer") != "fexm.stage" or int(layout.get("groups", 0)) < 2:
            raise CompositionError(
                "frm.stage refines the sub-image features of FExM: put fexm.stage right before it in "
                f"prepost (it got the output of {layout.get('producer', 'an unknown stage')})"
            )
        if variant not in ("full", "tiny"):
            raise ValueError(f"frm.stage: variant must be 'full' or 'tiny', got {variant!r}")
        self.groups = int(layout["groups"])
        if in_channels % self.groups:
            raise CompositionError(f"frm.stage: {in_channels} channels do not split into {self.groups} groups")
        self.group_channels = in_channels // self.groups
        self.in_channels = self.out_channels = in_channels
        self.stride = 1
        self._layout = layout
        self.arb = AttentionRefinementBlock(self.group_channels, variant == "tiny", blocks, levels, reduction)

    @property
    def layout(self) -> Mapping[str, Any]:
        return {**self._layout, "refined_by": "frm.stage"}

    def pre(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        t, c = self.groups, self.group_channels
        stacked = x.view(n, t, c, h, w).transpose(1, 2)  # (B, C, T, H, W)
        return self.arb(stacked).transpose(1, 2).reshape(n, t * c, h, w)

    def post(self, x_hat: Tensor) -> Tensor:
        """FRM has no decoder-side counterpart in the paper: the decoded features pass through."""
        return x_hat
