"""STF's Swin stage as a block: ``depth`` Swin transformer blocks (timm's), window attention
with relative position bias, shifted windows on every other block.

Works on (B, C, H, W) maps of any size: timm's block pads the map to a multiple of the window
internally (after the cyclic shift; STF pads before it, which differs only on maps that are
not a multiple of the window) and builds the shifted-window mask for the actual size.
"""

from __future__ import annotations

from typing import Sequence

from timm.models.swin_transformer import SwinTransformerBlock
from torch import Tensor, nn

from lic_core.interfaces import Block


class SwinStage(Block):
    """Swin blocks (B, C, H, W) -> (B, C, H, W): W-MSA, SW-MSA, W-MSA, ...

    Args:
        channels: feature channels ``C``.
        depth: Swin blocks inside.
        heads: attention heads (default ``C // 16``: STF's 3/6/12/24 at 48/96/192/384).
        window: window size; shifted blocks move by ``window // 2``.
        mlp_ratio: MLP hidden width over ``C``.
        drop_path: stochastic-depth rate, one value or one per block.
    """

    def __init__(
        self,
        channels: int,
        depth: int = 2,
        heads: int | None = None,
        window: int = 4,
        mlp_ratio: float = 4.0,
        drop_path: float | Sequence[float] = 0.0,
    ) -> None:
        super().__init__()
        heads = heads or max(1, channels // 16)
        if channels % heads:
            raise ValueError(f"{channels} channels are not divisible by {heads} heads")
        rates = [float(drop_path)] * depth if isinstance(drop_path, (int, float)) else [float(r) for r in drop_path]
        if len(rates) != depth:
            raise ValueError(f"drop_path gives {len(rates)} rates for {depth} blocks")
        self.channels = channels
        self.blocks = nn.Sequential(
            *(
                SwinTransformerBlock(
                    channels,
                    input_resolution=(window, window),
                    num_heads=heads,
                    window_size=window,
                    shift_size=0 if i % 2 == 0 else window // 2,
                    always_partition=True,
                    dynamic_mask=True,
                    mlp_ratio=mlp_ratio,
                    drop_path=r,
                )
                for i, r in enumerate(rates)
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        # contiguous (NCHW) output: convs after it then pick the same kernels as on decoded tensors
        return self.blocks(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()
