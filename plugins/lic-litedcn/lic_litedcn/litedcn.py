"""Lite-DCN: a light deformable convolution whose sampling weights are shared by all points
(DCNv3 of InternImage, as DKIC's "Lite DCN" describes it).

    x_proj = input_proj(x)                                    (1x1, shared by every point)
    f      = GELU(LN(depthwise_conv3x3(x)))
    offset = offset_scale * offset_proj(f)                    (G*K*K*2, zero-initialized)
    mask   = softmax over the K*K points of mask_proj(f)      (G*K*K, zero-initialized)
    out    = output_proj(lite_dcn_sample(x_proj, offset, mask))

Zero-initialized offset and mask projections make a fresh Lite-DCN a fixed 3x3 average of the
projected input; training moves the points and reweights them per pixel.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from lic_core.layers.naf import LayerNorm2d

from lic_litedcn.ops import KERNELS, lite_dcn_sample


def default_groups(channels: int) -> int:
    """DCNv3's 16 channels per group where 16 divides ``channels``, else a single group."""
    return channels // 16 if channels % 16 == 0 else 1


class LiteDCN(nn.Module):
    """Content-conditioned K x K sampling with shared weights, ``(B, C, H, W) -> (B, C, H, W)``.

    Args:
        channels: C.
        groups: G, channel groups with their own points (default :func:`default_groups`).
        kernel_size: K (odd).
        offset_scale: multiplies the predicted offsets (DCNv3's ``offset_scale``).
        kernel: ``"pytorch"`` (grid_sample) or ``"torchvision"`` (deform_conv2d); same result.
        dw_kernel_size: the depthwise conv that conditions offsets and modulation.
    """

    def __init__(
        self,
        channels: int,
        groups: int | None = None,
        kernel_size: int = 3,
        offset_scale: float = 1.0,
        kernel: str = "pytorch",
        dw_kernel_size: int = 3,
    ) -> None:
        super().__init__()
        groups = default_groups(channels) if groups is None else int(groups)
        if groups < 1 or channels % groups:
            raise ValueError(f"Lite-DCN groups={groups} must divide channels={channels}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"Lite-DCN kernel_size must be odd, got {kernel_size}")
        if kernel not in KERNELS:
            raise ValueError(f"unknown Lite-DCN kernel {kernel!r} (choose one of {', '.join(KERNELS)})")
        self.channels, self.groups, self.kernel_size = channels, groups, kernel_size
        self.offset_scale, self.kernel = float(offset_scale), kernel
        points = groups * kernel_size * kernel_size
        self.input_proj = nn.Conv2d(channels, channels, 1)
        self.dw_conv = nn.Conv2d(channels, channels, dw_kernel_size, padding=dw_kernel_size // 2, groups=channels)
        self.norm = LayerNorm2d(channels)
        self.offset = nn.Conv2d(channels, 2 * points, 1)
        self.mask = nn.Conv2d(channels, points, 1)
        self.output_proj = nn.Conv2d(channels, channels, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """DCNv3's initialization: zero offset/mask projections, Xavier input/output projections."""
        for m in (self.offset, self.mask):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)
        for m in (self.input_proj, self.output_proj):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)

    def sampling(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The offsets (B, 2*G*K*K, H, W) and softmaxed modulation (B, G*K*K, H, W) for ``x``."""
        f = F.gelu(self.norm(self.dw_conv(x)))
        b, _, h, w = x.shape
        k2 = self.kernel_size * self.kernel_size
        mask = self.mask(f).view(b, self.groups, k2, h, w).softmax(dim=2).view(b, self.groups * k2, h, w)
        return self.offset(f) * self.offset_scale, mask

    def forward(self, x: Tensor) -> Tensor:
        offset, mask = self.sampling(x)
        out = lite_dcn_sample(self.input_proj(x), offset, mask, self.kernel_size, kernel=self.kernel)
        return self.output_proj(out)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, groups={self.groups}, kernel_size={self.kernel_size}, kernel={self.kernel!r}"
