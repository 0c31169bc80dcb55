"""The Lite-DCN sampling operator: a modulation-weighted sum of bilinear samples.

For a projected input ``x`` (B, C, H, W) split into ``G`` channel groups, the output at pixel
``p`` for a channel ``c`` of group ``g`` is

    out[c, p] = sum_k  mask[g, k, p] * bilinear(x[c], p + p_k + offset[g, k, p])

over the ``K*K`` points ``p_k = ((ky - K//2) * d, (kx - K//2) * d)`` of a regular grid with
dilation ``d``. Samples outside the image read zeros. Unlike a deformable convolution there is
no weight per tap: all points share the same (input/output projection) weights, as in DCNv3.

Layouts follow ``torchvision.ops.deform_conv2d``: ``offset`` is (B, 2*G*K*K, H, W), for each
group and point ``k = ky*K + kx`` the pair ``(dy, dx)`` in pixels; ``mask`` is (B, G*K*K, H, W).

Two kernels compute it:

- ``"pytorch"`` (default): ``F.grid_sample`` (bilinear, zero padding, ``align_corners=False``
  on pixel centres), as InternImage's ``dcnv3_core_pytorch`` does; runs anywhere.
- ``"torchvision"``: ``torchvision.ops.deform_conv2d`` with a depthwise all-ones weight and
  ``G`` offset groups. This is the same operation (same points, same bilinear rule with zeros
  outside, same modulation), not an approximation; results agree to float rounding (~1e-6).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

KERNELS = ("pytorch", "torchvision")


def _check(x: Tensor, offset: Tensor, mask: Tensor, kernel_size: int) -> int:
    if x.dim() != 4 or offset.dim() != 4 or mask.dim() != 4:
        raise ValueError("lite_dcn_sample expects 4-D x, offset and mask (B, C, H, W)")
    points = kernel_size * kernel_size
    if mask.size(1) % points:
        raise ValueError(f"mask has {mask.size(1)} channels, not a multiple of kernel_size**2={points}")
    groups = mask.size(1) // points
    if offset.size(1) != 2 * groups * points:
        raise ValueError(f"offset has {offset.size(1)} channels, expected 2*G*K*K={2 * groups * points}")
    if x.size(1) % groups:
        raise ValueError(f"{x.size(1)} channels do not split into {groups} groups")
    if offset.shape[-2:] != x.shape[-2:] or mask.shape[-2:] != x.shape[-2:]:
        raise ValueError("offset and mask must have x's spatial size")
    return groups


def grid_points(kernel_size: int, dilation: int = 1, device=None, dtype=None) -> Tensor:
    """The (K*K, 2) regular-grid displacements ``(dy, dx)`` in row-major point order."""
    r = torch.arange(kernel_size, device=device, dtype=dtype) - kernel_size // 2
    dy, dx = torch.meshgrid(r * dilation, r * dilation, indexing="ij")
    return torch.stack((dy.reshape(-1), dx.reshape(-1)), dim=1)


def _sample_grid_sample(x: Tensor, offset: Tensor, mask: Tensor, kernel_size: int, dilation: int, groups: int) -> Tensor:
    b, c, h, w = x.shape
    points = kernel_size * kernel_size
    base = grid_points(kernel_size, dilation, x.device, x.dtype)  # (P, 2)
    off = offset.view(b, groups, points, 2, h, w)
    iy = torch.arange(h, device=x.device, dtype=x.dtype).view(1, 1, 1, h, 1)
    ix = torch.arange(w, device=x.device, dtype=x.dtype).view(1, 1, 1, 1, w)
    py = iy + base[:, 0].view(1, 1, points, 1, 1) + off[:, :, :, 0]
    px = ix + base[:, 1].view(1, 1, points, 1, 1) + off[:, :, :, 1]
    # pixel centres at integer coordinates: normalized = (2 * p + 1) / size - 1 (align_corners=False)
    grid = torch.stack(((2 * px + 1) / w - 1, (2 * py + 1) / h - 1), dim=-1)  # (B, G, P, H, W, 2)
    grid = grid.permute(0, 1, 3, 4, 2, 5).reshape(b * groups, h * w, points, 2)
    sampled = F.grid_sample(
        x.reshape(b * groups, c // groups, h, w), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )  # (B*G, C/G, H*W, P)
    weights = mask.view(b, groups, points, h * w).transpose(2, 3).reshape(b * groups, 1, h * w, points)
    return (sampled * weights).sum(-1).view(b, c, h, w)


def _sample_torchvision(x: Tensor, offset: Tensor, mask: Tensor, kernel_size: int, dilation: int) -> Tensor:
    try:
        from torchvision.ops import deform_conv2d
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("kernel='torchvision' needs torchvision (pip install 'lic-litedcn[torchvision]')") from exc
    weight = x.new_ones(x.size(1), 1, kernel_size, kernel_size)
    pad = dilation * (kernel_size // 2)
    return deform_conv2d(x, offset, weight, None, padding=pad, dilation=dilation, mask=mask)


def lite_dcn_sample(
    x: Tensor, offset: Tensor, mask: Tensor, kernel_size: int = 3, dilation: int = 1, kernel: str = "pytorch"
) -> Tensor:
    """The Lite-DCN aggregation of ``x`` (see the module doc); ``kernel`` picks the implementation."""
    groups = _check(x, offset, mask, kernel_size)
    if kernel == "pytorch":
        return _sample_grid_sample(x, offset, mask, kernel_size, dilation, groups)
    if kernel == "torchvision":
        return _sample_torchvision(x, offset, mask, kernel_size, dilation)
    raise ValueError(f"unknown Lite-DCN kernel {kernel!r} (choose one of {', '.join(KERNELS)})")
