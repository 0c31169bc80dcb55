"""FRM: needs FExM, refines across the stacked sub-image axis, keeps shapes."""

from __future__ import annotations

import pytest
import torch

import lic_core
from lic_core.errors import CompositionError
from lic_frm.stage import FRMStage

LAYOUT = {"producer": "fexm.stage", "groups": 5, "group_channels": 4, "patch": 2}
BASE = {"transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}


def test_without_fexm_composition_fails_with_a_clear_message():
    with pytest.raises(CompositionError, match="put fexm.stage right before it"):
        lic_core.compose({**BASE, "prepost": [{"id": "frm.stage"}]})
    with pytest.raises(CompositionError, match="fexm.stage"):
        lic_core.compose({**BASE, "prepost": [{"id": "fenm.stage"}, {"id": "frm.stage"}]})


@pytest.mark.parametrize("variant", ["full", "tiny"])
def test_refinement_keeps_shape_and_mixes_sub_images(variant):
    torch.manual_seed(0)
    stage = FRMStage(20, LAYOUT, variant=variant, blocks=1).eval()
    x = torch.randn(1, 20, 8, 8)
    y = stage.pre(x)
    assert y.shape == x.shape and torch.equal(stage.post(y), y)
    x2 = x.clone()
    x2[:, 4:8] += 1.0  # perturb the first sub-image feature only
    changed = (stage.pre(x2) - y).abs().flatten(2).amax(-1)[0]
    assert changed[:4].max() > 0 and changed[8:].max() > 0  # the 3-D convs reach the other groups


def test_tiny_variant_is_much_smaller():
    full = sum(p.numel() for p in FRMStage(40, {**LAYOUT, "group_channels": 8}).parameters())
    tiny = sum(p.numel() for p in FRMStage(40, {**LAYOUT, "group_channels": 8}, variant="tiny").parameters())
    assert tiny * 5 < full


def test_composes_after_fexm_and_codes_exactly():
    torch.manual_seed(0)
    codec = lic_core.compose(
        {**BASE, "prepost": [{"id": "fexm.stage", "channels": 4}, {"id": "frm.stage", "variant": "tiny"}]}
    ).eval()
    codec.update(force=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        enc = codec.compress(x)
        assert torch.equal(codec.decompress(enc["strings"], enc["shape"])["x_hat"], codec(x)["x_hat"].clamp(0, 1))


def test_channels_sets_the_refinement_width_and_projections_keep_a_residual():
    assert isinstance(FRMStage(20, LAYOUT, channels=4).proj_in, torch.nn.Identity)  # FExM's width
    stage = FRMStage(20, LAYOUT, channels=8, blocks=1).eval()
    assert stage.proj_in.out_channels == 8 and stage.arb.head[0].in_channels == 8
    x = torch.randn(1, 20, 6, 6)
    assert not torch.equal(stage.pre(x), x)
    torch.nn.init.zeros_(stage.proj_out.weight)
    torch.nn.init.zeros_(stage.proj_out.bias)
    assert torch.equal(stage.pre(x), x)  # the refinement is added to FExM's features
