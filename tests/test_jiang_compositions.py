"""Jiang et al.'s modules composed onto Tiny-LIC and STF, each alone and all together: every
combination trains a step, compresses and decompresses exactly (issue: FExM/FRM/FEnM/QECM);
the stages at the paper's sizes code exactly on tinylic-small, stf-small and the default
codec's backbone, with FExM in place of the backbone's first downsampling layer (issue #26)."""

from __future__ import annotations

import pytest
import torch

import lic_core
from lic_core.errors import CompositionError
from lic_core.losses import rate_distortion
from lic_core.testing import assert_codes_exactly

for _plugin in ("lic_tinylic", "lic_stf", "lic_fexm", "lic_frm", "lic_fenm", "lic_qecm"):
    pytest.importorskip(_plugin)

FEXM = {"id": "fexm.stage", "channels": 8}
FRM = {"id": "frm.stage", "variant": "tiny", "channels": 8}
FENM = {"id": "fenm.stage", "blocks": 1, "layers": 2, "growth": 8, "width": 40}
QECM = {"quantizer": {"id": "qecm.quantizer"}}
COMBINATIONS = {
    "fexm": {"prepost": [FEXM]},
    "fexm+frm": {"prepost": [FEXM, FRM]},  # FRM refines FExM's features: it never comes alone
    "fexm+fenm": {"prepost": [FEXM, FENM], "losses": [{"id": "fenm.loss"}]},  # FEnM enhances them
    "qecm": QECM,
    "all": {"prepost": [FEXM, FRM, FENM], "losses": [{"id": "fenm.loss"}], **QECM},
}
#: the paper's pipeline with every stage at its default (the paper's) sizes
PAPER_STAGES = {
    "prepost": [{"id": "fexm.stage"}, {"id": "frm.stage"}, {"id": "fenm.stage"}],
    "losses": [{"id": "fenm.loss"}],
    **QECM,
}
DEFAULT_CODEC_BACKBONE = "core.mbt2018-checkerboard-lite-pf2"  # core.gdn N=64 M=96 (the shipped default codec)


@pytest.mark.parametrize("backbone", ["tinylic-small", "stf-small"])
@pytest.mark.parametrize("combo", list(COMBINATIONS))
def test_module_trains_a_step_and_codes_exactly(backbone, combo):
    torch.manual_seed(0)
    codec = lic_core.compose({"base": backbone, **COMBINATIONS[combo]})
    x = torch.rand(1, 3, 64, 64)
    opt = torch.optim.Adam([p for n, p in codec.named_parameters() if not n.endswith("quantiles")], lr=1e-4)
    out = codec(x)
    loss = rate_distortion(x, out, 0.013)["loss"] + sum(t.weight_at(0.0) * t(x, out, codec) for t in codec.losses)
    loss.backward()
    opt.step()
    assert_codes_exactly(codec, x)


@pytest.mark.parametrize("backbone", ["tinylic-small", "stf-small", DEFAULT_CODEC_BACKBONE])
def test_paper_sized_stages_replace_the_first_downsampling_layer_and_code_exactly(backbone):
    torch.manual_seed(0)
    recipe = {"base": backbone, **PAPER_STAGES}
    if backbone == DEFAULT_CODEC_BACKBONE:
        assert lic_core.get_recipe(backbone)["transform"] == {"id": "core.gdn", "N": 64, "M": 96}
    codec = lic_core.compose(recipe)
    plain = lic_core.compose(backbone)
    fexm, transform = codec.prepost[0], codec.transform
    assert fexm.stride == 2 and transform.in_channels == 5 * 32
    assert transform.stride * 2 == plain.transform.stride  # FExM's stride-2 convs replace the first downsampling
    assert codec.stride == plain.stride
    stem = next(m for m in transform.analysis.modules() if isinstance(m, torch.nn.Conv2d))
    assert stem.in_channels == 160 and stem.stride == (1, 1) and stem.kernel_size == (3, 3)  # a feature conv
    assert_codes_exactly(codec, torch.rand(1, 3, 64, 64))


def test_fenm_without_fexm_is_a_composition_error_naming_what_it_needs():
    with pytest.raises(CompositionError, match="fenm.stage enhances the decoded features of fexm.stage"):
        lic_core.compose({"base": "tinylic-small", "prepost": [{"id": "fenm.stage"}], "losses": [{"id": "fenm.loss"}]})


def test_named_recipes_extend_their_backbone():
    assert lic_core.get_registry().recipe("jiang-tinylic-small").recipe["base"] == "tinylic-small"
    small = lic_core.get_recipe("jiang-tinylic-small")  # expanded: the backbone's entries merged in
    assert "base" not in small and small["transform"] == lic_core.get_recipe("tinylic-small")["transform"]
    recipe = lic_core.get_recipe("jiang-tinylic")
    assert [s["id"] for s in recipe["prepost"]] == ["fexm.stage", "frm.stage", "fenm.stage"]
    assert recipe["transform"]["id"] == "tinylic.transform" and recipe["quantizer"]["id"] == "qecm.quantizer"


def test_the_withdrawn_hybrid_model_is_not_listed():
    # its weights were trained with the former stem (FExM's features through a 5x5 conv at
    # stride 1) and no longer fit the recipe; it was withdrawn, not silently kept
    assert "fexm.jiang-tinylic-small" not in lic_core.get_registry().models
