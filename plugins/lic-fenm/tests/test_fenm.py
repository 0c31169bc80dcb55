"""FEnM: the stage enhances decoded features; the loss pulls them to the encoder's feature."""

from __future__ import annotations

import pytest
import torch

import lic_core
from lic_core.errors import CompositionError
from lic_fenm.stage import FEnMStage

RECIPE = {
    "transform": {"id": "core.gdn", "N": 16, "M": 24},
    "entropy_model": {"id": "core.hyperprior", "N": 16},
    "prepost": [{"id": "fexm.stage", "channels": 4}, {"id": "fenm.stage", "layers": 2, "growth": 8}],
    "losses": [{"id": "fenm.loss"}],
}
LAYOUT = {"producer": "fexm.stage", "groups": 5, "group_channels": 4, "patch": 2}


@pytest.mark.parametrize("width, last", [(20, "conv"), (12, "proj_out")])
def test_stage_is_identity_on_the_way_in_and_residual_on_the_way_out(width, last):
    stage = FEnMStage(20, LAYOUT, blocks=1, layers=2, growth=4, width=width)
    x = torch.randn(1, 20, 6, 6)
    assert torch.equal(stage.pre(x), x)
    assert not torch.equal(stage.post(x), x)
    torch.nn.init.zeros_(getattr(stage, last).weight)
    torch.nn.init.zeros_(getattr(stage, last).bias)
    assert torch.equal(stage.post(x), x)


def test_width_projects_in_and_out_only_when_it_differs():
    same = FEnMStage(20, LAYOUT, width=20)
    narrow = FEnMStage(20, LAYOUT, width=8)
    assert isinstance(same.proj_in, torch.nn.Identity)
    assert narrow.proj_in.out_channels == 8 and narrow.proj_out.out_channels == 20


@pytest.mark.parametrize("prepost", [[], [{"id": "fexm.stage", "channels": 4}]])
def test_stage_without_fexm_before_it_is_a_composition_error(prepost):
    # alone (or outside FExM) it would be an image post-filter whose loss compares the output
    # with the input, which is not the paper's module
    recipe = {**RECIPE, "prepost": [{"id": "fenm.stage"}, *prepost], "losses": []}
    with pytest.raises(CompositionError, match="put it after fexm.stage in prepost .it got the input image"):
        lic_core.compose(recipe)


def test_loss_compares_enhanced_and_refined_features_with_the_paper_schedule():
    pytest.importorskip("lic_fexm")
    torch.manual_seed(0)
    codec = lic_core.compose(RECIPE)
    term = codec.losses[0]
    assert term.weight_at(0.0) == 1.0 and term.weight_at(0.34) == 0.0
    x = torch.rand(1, 3, 64, 64)
    out = codec(x)
    expected = torch.mean((out["features"]["post"][1] - out["features"]["pre"][0]) ** 2)
    value = term(x, out, codec)
    assert torch.allclose(value, expected)
    value.backward()
    assert codec.prepost[1].conv.weight.grad.abs().sum() > 0  # reaches FEnM
    assert codec.prepost[0].sub_features[0].weight.grad.abs().sum() > 0  # and the encoder side


def test_loss_without_the_stage_is_a_composition_error():
    recipe = {**RECIPE, "prepost": []}
    with pytest.raises(CompositionError, match="needs fenm.stage"):
        lic_core.compose(recipe)
