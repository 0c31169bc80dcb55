"""Tiny-LIC: the paper's configuration, the context model's masks, and bit-exact coding."""

import pytest
import torch
import torch.nn.functional as F

from lic_core import compose, create
from lic_core.testing import assert_codes_exactly

from lic_tinylic.blocks import RNAB
from lic_tinylic.mcm import MultistageContextModel
from lic_tinylic.transform import TinyLICTransform


def test_parameter_count_matches_the_authors_model():
    with torch.device("meta"):
        transform = TinyLICTransform(N=128, M=320)
    em = MultistageContextModel(320)
    assert em.groups == (24, 69, 104, 123)
    total = sum(p.numel() for m in (transform, em) for p in m.parameters())
    assert abs(total - 28.34e6) < 0.01e6, total


def test_slice_masks_are_the_authors():
    em = MultistageContextModel(24, hyper=lambda **kw: create("tinylic.hyper", N=8, depths=[1, 1], heads=1, **kw))
    slice0 = em.coder.coders[0].coder
    a, b, c = (conv.mask[0, 0] for conv in slice0.context)
    ref_a = torch.zeros(3, 3)
    ref_a[0::2, 0::2] = 1  # diagonal neighbours of (1,1) are (0,0) anchors
    ref_b = torch.zeros(5, 5)
    ref_b[0::2, 1::2] = ref_b[1::2, 0::2] = 1  # odd-parity taps
    ref_c = torch.zeros(5, 5)
    ref_c[0::2, 1::2] = ref_c[1::2, :] = 1  # odd rows plus odd columns
    for got, want in ((a, ref_a), (b, ref_b), (c, ref_c)):
        assert torch.equal(got, want)
    assert slice0.stages == (((0, 0),), ((1, 1),), ((0, 1),), ((1, 0),))
    # slices 1 and 2: checkerboards of opposite anchor parity; the last slice has no spatial stage
    assert em.coder.coders[1].coder.stages[0] == ((0, 1), (1, 0))
    assert em.coder.coders[2].coder.stages[0] == ((0, 0), (1, 1))
    assert not hasattr(em.coder.coders[3].coder, "stages")


@pytest.mark.parametrize("in_stride", [1, 2])
def test_transform_strides_and_in_stride(in_stride):
    t = create("tinylic.transform", N=8, M=12, depths=[1, 1, 1, 1], heads=[1, 1, 1, 1], kernel=3,
               in_channels=5, in_stride=in_stride)
    x = torch.randn(1, 5, 32 // in_stride, 48 // in_stride)
    y = t.analysis(x)
    assert t.stride == 16 // in_stride and y.shape == (1, 12, 2, 3)
    assert t.synthesis(y).shape == x.shape


def test_block_parameter_replaces_every_attention_block():
    recipe = {
        "transform": {
            "id": "tinylic.transform", "N": 8, "M": 12,
            "block": {"id": "tinylic.rnab", "depth": 1, "kernel": 3, "heads": 1},
        },
        "entropy_model": {"id": "core.hyperprior", "N": 8},
    }
    codec = compose(recipe)
    blocks = [m for m in codec.transform.modules() if isinstance(m, RNAB)]
    assert len(blocks) == 8
    assert all(len(b.layers) == 1 and b.layers[0].attn.kernel_size == 3 for b in blocks)


def test_small_recipe_codes_a_250x190_crop_exactly():
    torch.manual_seed(0)
    codec = compose("tinylic-small").eval()
    codec.update(force=True)
    x = torch.rand(1, 3, 190, 250)
    s = codec.stride
    x = F.pad(x, (0, -250 % s, 0, -190 % s), mode="replicate")
    assert_codes_exactly(codec, x)
