"""Tiny-LIC's residual neighbourhood-attention block (RNAB).

An RNAB is ``depth`` transformer layers, each pre-norm neighbourhood attention followed by a
pre-norm MLP (ratio 2, GELU), both residual with stochastic depth, and one more residual
around the whole group (the authors' ``ResViTBlock``): ``x + layers(x)``. It works on
(B, C, H, W) maps of any size (the attention clamps its windows inside the map).
"""

from __future__ import annotations

from typing import Sequence

from timm.layers import DropPath, Mlp, trunc_normal_
from torch import Tensor, nn

from lic_core.interfaces import Block
from lic_core.layers.neighborhood import NeighborhoodAttention2d


class NeighborhoodLayer(nn.Module):
    """``x + drop_path(NA(LN(x)))`` then ``x + drop_path(MLP(LN(x)))`` on (B, H, W, C)."""

    def __init__(
        self, dim: int, heads: int, kernel: int = 7, mlp_ratio: float = 2.0, drop_path: float = 0.0, backend: str = "auto"
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = NeighborhoodAttention2d(dim, heads, kernel, backend=backend)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class RNAB(Block):
    """Residual neighbourhood-attention block (B, C, H, W) -> (B, C, H, W).

    Args:
        channels: feature channels ``C``.
        depth: neighbourhood-attention layers inside.
        heads: attention heads (default ``C // 16``: Tiny-LIC's 8/12/16/20 at 128/192/256/320).
        kernel: neighbourhood size (odd).
        mlp_ratio: MLP hidden width over ``C``.
        drop_path: stochastic-depth rate, one value or one per layer.
        backend: neighbourhood-attention implementation (``auto``, ``tiled``, ``flex``, ``reference``).
    """

    def __init__(
        self,
        channels: int,
        depth: int = 2,
        heads: int | None = None,
        kernel: int = 7,
        mlp_ratio: float = 2.0,
        drop_path: float | Sequence[float] = 0.0,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        heads = heads or max(1, channels // 16)
        rates = [float(drop_path)] * depth if isinstance(drop_path, (int, float)) else [float(r) for r in drop_path]
        if len(rates) != depth:
            raise ValueError(f"drop_path gives {len(rates)} rates for {depth} layers")
        self.channels = channels
        self.layers = nn.Sequential(*(NeighborhoodLayer(channels, heads, kernel, mlp_ratio, r, backend) for r in rates))
        self.apply(_init_weights)

    def forward(self, x: Tensor) -> Tensor:
        # contiguous (NCHW) output: convs after it then pick the same kernels as on decoded tensors
        return (x + self.layers(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)).contiguous()


def _init_weights(m: nn.Module) -> None:
    """The authors' init: truncated-normal linear weights, zero biases, unit layer norms."""
    if isinstance(m, nn.Linear):
        trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
