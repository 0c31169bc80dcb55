"""FRM: stack FExM's image and sub-image features along a new "time" axis and refine them with
the 3-D attention refinement block, then reshape back to 2-D features for the backbone.

The block works at ``channels`` per group: when that differs from FExM's group width, 1x1x1
convs project into and out of it and the refinement is added to FExM's features."""

from __future__ import annotations

from typing import Any, Mapping

from torch import Tensor, nn

from lic_core.errors import CompositionError
from lic_core.interfaces import PrePost
from lic_frm.attention3d import AttentionRefinementBlock


class FRMStage(PrePost):
    """Feature refinement module (must come right after ``fexm.stage`` in ``prepost``).

    variant:   ``"full"`` (the paper's ARB) or ``"tiny"`` ("Proposed-Tiny").
    channels:  width of the 3-D refinement per group (FExM's group width: no projection). The
               paper does not give it; 24 puts the full ARB near the paper's +111 GMACs at
               768x512 (+121).
    blocks:    3-D residual blocks in the attention block (paper: 3).
    levels:    residual blocks per cascade (paper Fig. 5: 1, 2 or 3; default 2).
    reduction: channel-attention reduction ratio.
    """

    def __init__(
        self,
        in_channels: int,
        layout: Mapping[str, Any] | None = None,
        variant: str = "full",
        channels: int = 24,
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
        self.group_channels = c = in_channels // self.groups
        width = int(channels)
        if width < 1:
            raise ValueError(f"frm.stage: channels must be >= 1, got {channels}")
        self.in_channels = self.out_channels = in_channels
        self.stride = 1
        self._layout = layout
        self.project = width != c
        self.proj_in = nn.Conv3d(c, width, 1) if self.project else nn.Identity()
        self.arb = AttentionRefinementBlock(width, variant == "tiny", blocks, levels, reduction)
        self.proj_out = nn.Conv3d(width, c, 1) if self.project else nn.Identity()

    @property
    def layout(self) -> Mapping[str, Any]:
        return {**self._layout, "refined_by": "frm.stage"}

    def pre(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        t, c = self.groups, self.group_channels
        stacked = x.view(n, t, c, h, w).transpose(1, 2)  # (B, C, T, H, W)
        refined = self.proj_out(self.arb(self.proj_in(stacked)))
        if self.project:
            refined = stacked + refined
        return refined.transpose(1, 2).reshape(n, t * c, h, w)

    def post(self, x_hat: Tensor) -> Tensor:
        """FRM has no decoder-side counterpart in the paper: the decoded features pass through."""
        return x_hat
