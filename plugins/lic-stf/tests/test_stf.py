"""STF: the paper's configuration, Swin blocks on odd sizes, and bit-exact coding."""

import pytest
import torch
import torch.nn.functional as F

from lic_core import compose, create
from lic_core.testing import assert_codes_exactly

from lic_stf.blocks import SwinStage
from lic_stf.channel_ar import ChannelAREntropyModel
from lic_stf.transform import STFTransform


def test_parameter_count_matches_the_authors_model():
    with torch.device("meta"):
        transform, em = STFTransform(), ChannelAREntropyModel(384)
    assert transform.latent_channels == 384 and em.groups == (32,) * 12
    total = sum(p.numel() for m in (transform, em) for p in m.parameters())
    assert abs(total - 99.86e6) < 0.01e6, total


def test_support_is_the_first_six_slices():
    em = ChannelAREntropyModel(24, hyper=lambda **kw: create("stf.hyper", N=8, **kw), slices=8, max_support=3, widths=[8])
    assert em.coder.support == [[], [0], [0, 1], [0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2]]


@pytest.mark.parametrize("size", [(13, 10), (8, 8), (3, 5)])
def test_swin_stage_takes_any_size(size):
    torch.manual_seed(0)
    stage = SwinStage(16, depth=2, heads=2, window=4)
    x = torch.randn(2, 16, *size)
    y = stage(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_only_the_shifted_block_crosses_window_borders():
    torch.manual_seed(0)
    x = torch.randn(1, 8, 8, 8)
    x2 = x.clone()
    x2[0, 0, 0, 0] += 1.0  # one channel (a shift of all channels is undone by the layer norm)
    plain = SwinStage(8, depth=1, heads=2, window=4)
    reach = (plain(x2) - plain(x)).abs().sum(dim=(0, 1)) > 0
    assert reach[:4, :4].all() and not reach[4:].any() and not reach[:, 4:].any()
    shifted = SwinStage(8, depth=2, heads=2, window=4)
    reach = (shifted(x2) - shifted(x)).abs().sum(dim=(0, 1)) > 0
    assert reach[5, 5] and not reach[4:, 4:].all()


@pytest.mark.parametrize("in_stride", [1, 2])
def test_transform_strides_and_in_stride(in_stride):
    t = create("stf.transform", embed_dim=4, depths=[1, 1, 1, 1], heads=[1, 1, 1, 1], in_channels=5, in_stride=in_stride)
    x = torch.randn(1, 5, 32 // in_stride, 48 // in_stride)
    y = t.analysis(x)
    assert t.stride == 16 // in_stride and y.shape == (1, 32, 2, 3)
    assert t.synthesis(y).shape == x.shape


def test_a_replaced_patch_embedding_is_a_stride_1_stem_kernel_conv():
    small = {"embed_dim": 4, "depths": [1, 1, 1, 1], "heads": [1, 1, 1, 1]}
    t = create("stf.transform", in_channels=20, in_stride=2, stem_kernel=3, **small)
    embed, last = t.analysis[0].proj, t.synthesis[-1]
    assert embed.in_channels == 20 and embed.stride == (1, 1) and embed.kernel_size == (3, 3)
    assert isinstance(last, torch.nn.Conv2d) and last.out_channels == 20 and last.kernel_size == (3, 3)
    assert not any(isinstance(m, torch.nn.PixelShuffle) and m.upscale_factor > 1 for m in t.synthesis)
    image = create("stf.transform", **small)  # the image path keeps STF's 2x2 patch embedding
    assert image.analysis[0].proj.kernel_size == (2, 2) and image.analysis[0].proj.stride == (2, 2)


def test_block_parameter_replaces_every_swin_stage():
    recipe = {
        "transform": {"id": "stf.transform", "embed_dim": 4, "block": {"id": "stf.swin", "depth": 1, "heads": 1}},
        "entropy_model": {"id": "core.hyperprior", "N": 8},
    }
    stages = [m for m in compose(recipe).transform.modules() if isinstance(m, SwinStage)]
    assert len(stages) == 8 and all(len(s.blocks) == 1 for s in stages)


def test_small_recipe_codes_a_250x190_crop_exactly():
    torch.manual_seed(0)
    codec = compose("stf-small").eval()
    codec.update(force=True)
    x = torch.rand(1, 3, 190, 250)
    s = codec.stride
    x = F.pad(x, (0, -250 % s, 0, -190 % s), mode="replicate")
    assert_codes_exactly(codec, x)
