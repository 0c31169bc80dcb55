"""The asymmetric spatial-channel entropy model: structure, parameters, exact coding."""

from __future__ import annotations

import pytest
import torch

from lic_core.builtins.context import ElicEntropyModel
from lic_core.coding.multistage import STAGE_ORDERS
from lic_asymmetric.entropy import AsymmetricEntropyModel

SMALL = {"groups": [2, 2, 4, 4, 12], "N": 8, "channel_hidden": [8]}


def _model(**kw) -> AsymmetricEntropyModel:
    torch.manual_seed(0)
    return AsymmetricEntropyModel(24, **{**SMALL, **kw})


def test_default_slices_and_stages_at_m320():
    m = AsymmetricEntropyModel(320, N=16, channel_hidden=[16])
    assert list(m.groups) == [16, 16, 32, 64, 192]
    orders = [coder.stages for coder in m.coder.coders]
    assert orders == [STAGE_ORDERS["four-stage"]] * 2 + [STAGE_ORDERS["checkerboard"]] * 3
    assert m.coder.num_streams == 4 + 4 + 2 + 2 + 2
    assert m.side.hyper.out_channels == 32  # side_channels = 2N


def test_every_slice_sees_hyperprior_and_earlier_slices():
    m = _model()
    y_hats = [torch.zeros(1, g, 4, 4) for g in m.groups]
    side = torch.zeros(1, 16, 4, 4)
    for k, g in enumerate(m.groups):
        merged = m.coder.group_side(k, side, y_hats[:k])
        assert merged.size(1) == 16 + (2 * g if k else 0)
        assert m.coder.support[k] == list(range(k))


def test_stage_counts_are_parameters():
    m = _model(stages=[4, 2, 2, 1, 1])
    assert [len(c.stages) for c in m.coder.coders] == [4, 2, 2, 1, 1]
    with pytest.raises(ValueError, match="1, 2 or 4"):
        _model(stages=[3, 2, 2, 2, 2])
    with pytest.raises(ValueError, match="5 slices"):
        _model(stages=[4, 4, 2])
    with pytest.raises(ValueError, match="sum"):
        _model(groups=[2, 2, 4, 4, 4])


@pytest.mark.parametrize("combine", ["replace", "sum"])
def test_decode_reproduces_eval_forward(combine):
    m = _model(stages=[4, 4, 2, 2, 1], combine=combine).eval()
    m.update(force=True)
    y = torch.randn(2, 24, 8, 12) * 3
    with torch.no_grad():
        ref = m(y)
        comp = m.compress(y)
        dec = m.decompress(comp["strings"], comp["shape"])
    assert len(comp["strings"]) == 4 + 4 + 2 + 2 + 1 + 1
    assert torch.equal(dec["y_hat"], ref["y_hat"]) and torch.equal(comp["y_hat"], ref["y_hat"])


def test_four_stage_context_helps_a_spatially_smooth_slice():
    """Only the spatial context distinguishes the two models; on identical weights of the
    shared parts, the 4-stage slice's later stages do get a non-zero context."""
    m = _model().eval()
    y = torch.randn(1, 24, 8, 8)
    coder = m.coder.coders[0]
    ctx = coder._context(1, torch.where(torch.rand(1, 2, 8, 8) > 0, y[:, :2], y[:, :2]), None)
    assert ctx is not None and ctx.abs().sum() > 0


def test_same_parameters_as_elic_except_spatial_context():
    """With every slice on the checkerboard the model is core.elic-groups with these slices."""
    asym = AsymmetricEntropyModel(24, stages=[2] * 5, **SMALL)
    elic = ElicEntropyModel(24, N=8, groups=SMALL["groups"], context_widths=[8])
    assert {k: v.shape for k, v in asym.state_dict().items()} == {k: v.shape for k, v in elic.state_dict().items()}
    four = AsymmetricEntropyModel(24, **SMALL)
    extra = set(four.state_dict()) - set(asym.state_dict())
    assert extra and all(".context.1." in k or ".context.2." in k for k in extra)


def test_dynamic_hyperprior_via_hyper_param():
    pytest.importorskip("lic_litedcn")
    from lic_core import create

    m = create("asymmetric.entropy_model", 24, hyper={"id": "litedcn.hyper", "N": 8}, **SMALL)
    assert type(m.side.hyper).__name__ == "DynamicHyperTransform" and m.side.hyper.out_channels == 16
    y = torch.randn(1, 24, 8, 8)
    out = m(y)
    assert set(out["likelihoods"]) == {"y", "z"}
