"""FExM: sub-image splitting, stem replacement and its inverse."""

from __future__ import annotations

import pytest
import torch

import lic_core
from lic_fexm.stage import FExMStage, merge_subimages, split_subimages


@pytest.mark.parametrize("b", [2, 4])
def test_split_gathers_each_patch_position_and_merge_inverts(b):
    x = torch.rand(2, 3, 8 * b, 4 * b)
    subs = split_subimages(x, b)
    assert subs.shape == (2, 3 * b * b, 8, 4)
    i, j = 1, b - 1
    s = i * b + j
    assert torch.equal(subs[:, 3 * s : 3 * (s + 1)], x[:, :, i::b, j::b])
    assert torch.equal(merge_subimages(subs, b), x)


@pytest.mark.parametrize("b, shared", [(2, False), (4, False), (2, True)])
def test_pre_and_post_shapes(b, shared):
    stage = FExMStage(3, {}, patch=b, channels=8, shared=shared)
    x = torch.rand(1, 3, 32, 48)
    f = stage.pre(x)
    assert f.shape == (1, 8 * (b * b + 1), 32 // b, 48 // b) and stage.stride == b
    assert stage.layout["groups"] == b * b + 1
    assert stage.post(f).shape == x.shape


def test_separate_sub_image_weights_cost_more_parameters_than_shared():
    sep = sum(p.numel() for p in FExMStage(patch=2, channels=8).parameters())
    shared = sum(p.numel() for p in FExMStage(patch=2, channels=8, shared=True).parameters())
    assert sep > shared


def test_replaces_the_backbone_stem():
    codec = lic_core.compose(
        {
            "transform": {"id": "core.gdn", "N": 16, "M": 24},
            "entropy_model": {"id": "core.hyperprior", "N": 16},
            "prepost": [{"id": "fexm.stage", "channels": 8}],
        }
    )
    assert codec.transform.in_channels == 40 and codec.transform.stride == 8 and codec.stride == 64
    # the backbone's first downsampling conv (5x5/2 on the image) is gone: a 3x3/1 conv adapts
    # FExM's 5 x 8 channels to N, and its mirror ends the synthesis
    stem, last = codec.transform.analysis[0], codec.transform.synthesis[-1]
    assert (stem.in_channels, stem.out_channels, stem.kernel_size, stem.stride) == (40, 16, (3, 3), (1, 1))
    assert (last.in_channels, last.out_channels, last.kernel_size, last.stride) == (16, 40, (3, 3), (1, 1))
    assert codec(torch.rand(1, 3, 64, 64))["x_hat"].shape == (1, 3, 64, 64)


def test_odd_patch_is_refused():
    with pytest.raises(ValueError, match="even"):
        FExMStage(patch=3)
