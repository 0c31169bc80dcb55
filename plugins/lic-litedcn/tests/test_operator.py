"""The Lite-DCN operator against a naive per-pixel bilinear reference, and its fixed-grid case."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lic_litedcn.litedcn import LiteDCN
from lic_litedcn.ops import lite_dcn_sample


def _bilinear(img: torch.Tensor, y: float, x: float) -> torch.Tensor:
    """img (C, H, W) at real (y, x), pixel centres at integers, zeros outside."""
    h, w = img.shape[-2:]
    y0, x0 = math.floor(y), math.floor(x)
    out = torch.zeros(img.size(0), dtype=torch.float64)
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                out += wy * wx * img[:, yy, xx].double()
    return out


def naive_lite_dcn(x, offset, mask, k: int, dilation: int = 1) -> torch.Tensor:
    """Loops over images, groups, pixels and points."""
    b, c, h, w = x.shape
    points = k * k
    groups = mask.size(1) // points
    cg = c // groups
    out = torch.zeros(b, c, h, w, dtype=torch.float64)
    for n in range(b):
        for g in range(groups):
            img = x[n, g * cg : (g + 1) * cg]
            for i in range(h):
                for j in range(w):
                    for p in range(points):
                        ky, kx = divmod(p, k)
                        dy = float(offset[n, 2 * (g * points + p), i, j])
                        dx = float(offset[n, 2 * (g * points + p) + 1, i, j])
                        y = i + (ky - k // 2) * dilation + dy
                        xx = j + (kx - k // 2) * dilation + dx
                        out[n, g * cg : (g + 1) * cg, i, j] += float(mask[n, g * points + p, i, j]) * _bilinear(img, y, xx)
    return out


def _inputs(seed=0, b=2, c=6, h=5, w=6, groups=3, k=3, spread=2.5):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, h, w, generator=g)
    offset = torch.randn(b, 2 * groups * k * k, h, w, generator=g) * spread  # reaches beyond the borders
    mask = torch.rand(b, groups * k * k, h, w, generator=g)
    return x, offset, mask


@pytest.mark.parametrize("kernel", ["pytorch", "torchvision"])
@pytest.mark.parametrize(("k", "dilation"), [(3, 1), (3, 2), (5, 1)])
def test_matches_naive_reference(kernel, k, dilation):
    x, offset, mask = _inputs(k=k)
    ref = naive_lite_dcn(x, offset, mask, k, dilation)
    out = lite_dcn_sample(x, offset, mask, k, dilation, kernel=kernel)
    assert out.shape == x.shape
    torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=1e-5)


def test_kernels_agree_with_gradients():
    x, offset, mask = _inputs(seed=3)
    grads = []
    for kernel in ("pytorch", "torchvision"):
        args = [t.clone().requires_grad_(True) for t in (x, offset, mask)]
        (lite_dcn_sample(*args, kernel=kernel) * torch.linspace(-1, 1, x.numel()).view_as(x)).sum().backward()
        grads.append([a.grad for a in args])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_zero_offsets_uniform_mask_is_fixed_grid_average():
    x, _, _ = _inputs()
    b, c, h, w = x.shape
    offset = torch.zeros(b, 2 * 3 * 9, h, w)
    mask = torch.full((b, 3 * 9, h, w), 1 / 9)
    expected = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=True)
    for kernel in ("pytorch", "torchvision"):
        torch.testing.assert_close(lite_dcn_sample(x, offset, mask, kernel=kernel), expected, atol=1e-6, rtol=1e-6)


def test_integer_offset_shifts_the_grid():
    """Moving every point by +1 pixel in x samples the 3x3 neighbourhood of the pixel to the right."""
    x, _, _ = _inputs()
    b, c, h, w = x.shape
    offset = torch.zeros(b, 3 * 9, 2, h, w)
    offset[:, :, 1] = 1.0
    mask = torch.full((b, 3 * 9, h, w), 1 / 9)
    # 3x3 averages centred on columns 0..W (zeros outside), read at centre j + 1
    shifted = F.avg_pool2d(F.pad(x, (1, 2, 1, 1)), 3, stride=1)[..., 1:]
    torch.testing.assert_close(lite_dcn_sample(x, offset.view(b, -1, h, w), mask), shifted, atol=1e-6, rtol=1e-6)


def test_fresh_module_is_projected_fixed_grid_average():
    """Zero-initialized offset/mask projections: output_proj(avgpool3x3(input_proj(x)))."""
    torch.manual_seed(0)
    dcn = LiteDCN(8, groups=2)
    x = torch.randn(2, 8, 7, 9)
    offset, mask = dcn.sampling(x)
    assert not offset.any() and torch.allclose(mask, torch.full_like(mask, 1 / 9))
    expected = dcn.output_proj(F.avg_pool2d(dcn.input_proj(x), 3, 1, 1, count_include_pad=True))
    torch.testing.assert_close(dcn(x), expected, atol=1e-6, rtol=1e-6)


def test_offsets_are_learned_and_content_dependent():
    torch.manual_seed(0)
    dcn = LiteDCN(8, groups=2)
    x = torch.randn(2, 8, 6, 6)
    dcn(x).square().sum().backward()
    assert dcn.offset.weight.grad.abs().sum() > 0 and dcn.mask.weight.grad.abs().sum() > 0
    torch.nn.init.normal_(dcn.offset.weight, std=0.5)
    offset, _ = dcn.sampling(x)
    assert not torch.equal(offset[0], offset[1])


def test_bad_arguments_fail_clearly():
    x, offset, mask = _inputs()
    with pytest.raises(ValueError, match="kernel"):
        lite_dcn_sample(x, offset, mask, kernel="cuda")
    with pytest.raises(ValueError, match="offset"):
        lite_dcn_sample(x, offset[:, :-1], mask)
    with pytest.raises(ValueError, match="groups"):
        LiteDCN(6, groups=4)
    with pytest.raises(ValueError, match="odd"):
        LiteDCN(8, kernel_size=2)


def test_block_kernels_are_interchangeable():
    """A block group built with kernel='torchvision' loads the 'pytorch' one's weights and
    gives the same output (same parameters, same operation)."""
    from lic_litedcn.block import LiteDCNBlockGroup

    torch.manual_seed(0)
    a = LiteDCNBlockGroup(8, n=2, groups=2)
    for name, p in a.named_parameters():
        if ".dcn.offset." in name or ".dcn.mask." in name:
            torch.nn.init.normal_(p, std=0.3)  # move the points off the grid
    b = LiteDCNBlockGroup(8, n=2, groups=2, kernel="torchvision")
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 8, 9, 7)
    torch.testing.assert_close(b(x), a(x), atol=1e-5, rtol=1e-5)
