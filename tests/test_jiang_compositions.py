"""Jiang et al.'s modules composed onto Tiny-LIC and STF, each alone and all together: every
combination trains a step, compresses and decompresses exactly (issue: FExM/FRM/FEnM/QECM)."""

from __future__ import annotations

import pytest
import torch

import lic_core
from lic_core.losses import rate_distortion
from lic_core.testing import assert_codes_exactly

for _plugin in ("lic_tinylic", "lic_stf", "lic_fexm", "lic_frm", "lic_fenm", "lic_qecm"):
    pytest.importorskip(_plugin)

FEXM = {"id": "fexm.stage", "channels": 8}
FRM = {"id": "frm.stage", "variant": "tiny"}
FENM = {"id": "fenm.stage", "blocks": 1, "layers": 2, "growth": 8}
QECM = {"quantizer": {"id": "qecm.quantizer"}}
COMBINATIONS = {
    "fexm": {"prepost": [FEXM]},
    "fexm+frm": {"prepost": [FEXM, FRM]},  # FRM refines FExM's features: it never comes alone
    "fenm": {"prepost": [FENM], "losses": [{"id": "fenm.loss"}]},
    "qecm": QECM,
    "all": {"prepost": [FEXM, FRM, FENM], "losses": [{"id": "fenm.loss"}], **QECM},
}


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


def test_named_recipes_extend_their_backbone():
    assert lic_core.get_registry().recipe("jiang-tinylic-small").recipe["base"] == "tinylic-small"
    small = lic_core.get_recipe("jiang-tinylic-small")  # expanded: the backbone's entries merged in
    assert "base" not in small and small["transform"] == lic_core.get_recipe("tinylic-small")["transform"]
    recipe = lic_core.get_recipe("jiang-tinylic")
    assert [s["id"] for s in recipe["prepost"]] == ["fexm.stage", "frm.stage", "fenm.stage"]
    assert recipe["transform"]["id"] == "tinylic.transform" and recipe["quantizer"]["id"] == "qecm.quantizer"
