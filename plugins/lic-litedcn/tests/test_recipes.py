"""Named recipes (dkic, dkic-small) and Lite-DCN blocks composed onto other backbones: one
training step on a 64x64 input, then compress/decompress reproduces the eval forward."""

from __future__ import annotations

import pytest
import torch

import lic_core
from lic_core.losses import rate_distortion
from lic_core.testing import assert_codes_exactly


def _need(*plugins: str) -> None:
    found = lic_core.get_registry().plugins
    for p in plugins:
        record = found.get(p)
        if record is None or record.status != "ok":
            pytest.skip(f"plugin {p!r} is not installed (pip install -e plugins/lic-{p})")


def _train_step_then_code(codec) -> dict:
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64)
    codec.train()
    opt = torch.optim.Adam([p for n, p in codec.named_parameters() if not n.endswith("quantiles")], lr=1e-4)
    before = {n: p.detach().clone() for n, p in codec.named_parameters()}
    rd = rate_distortion(x, codec(x), 0.0067)
    opt.zero_grad()
    (rd["distortion"] * 0.0067 + rd["bpp"]).backward()
    opt.step()
    moved = [n for n, p in codec.named_parameters() if not torch.equal(before[n], p)]
    assert moved, "the training step changed no parameter"
    comp = assert_codes_exactly(codec, x)["compressed"]
    return {"moved": moved, "bytes": sum(len(s) for group in comp["strings"] for s in group)}


def test_dkic_small_trains_and_codes_exactly():
    _need("asymmetric")
    codec = lic_core.compose("dkic-small")
    assert type(codec.entropy_model.side.hyper).__name__ == "DynamicHyperTransform"
    result = _train_step_then_code(codec)
    assert any(".dcn.offset." in n for n in result["moved"])  # the offsets learn
    assert result["bytes"] > 0


def test_dkic_composes_at_paper_size():
    _need("asymmetric")
    codec = lic_core.compose("dkic")
    assert codec.transform.latent_channels == 320 and list(codec.entropy_model.groups) == [16, 16, 32, 64, 192]
    assert codec.stride == 64


def _with_litedcn_block(name: str) -> dict:
    recipe = lic_core.get_recipe(name)
    recipe["transform"]["block"] = {"id": "litedcn.block", "n": 1}
    recipe["name"] = f"{name}+litedcn"
    return recipe


def test_tinylic_with_litedcn_blocks():
    _need("tinylic")
    codec = lic_core.compose(_with_litedcn_block("tinylic-small"))
    assert any(type(m).__name__ == "LiteDCNBlockGroup" for m in codec.transform.modules())
    _train_step_then_code(codec)


def test_stf_with_litedcn_blocks():
    _need("stf")
    codec = lic_core.compose(_with_litedcn_block("stf-small"))
    assert any(type(m).__name__ == "LiteDCNBlockGroup" for m in codec.transform.modules())
    _train_step_then_code(codec)
