"""Recipes to codecs: sources, validation errors, nested refs, parity with CompressAI."""

from __future__ import annotations

import json

import pytest
import torch

import lic_core
from lic_core.errors import CompositionError


def test_compose_from_dict_yaml_json_and_name(tmp_path, tiny_recipe):
    import yaml

    (tmp_path / "r.yaml").write_text(yaml.safe_dump(tiny_recipe))
    (tmp_path / "r.json").write_text(json.dumps(tiny_recipe))
    sizes = {
        lic_core.compose(src).num_parameters()
        for src in (tiny_recipe, tmp_path / "r.yaml", str(tmp_path / "r.json"))
    }
    assert len(sizes) == 1
    assert lic_core.compose("core.mbt2018-mean").num_parameters() == 7_028_003


def test_named_recipe_is_a_fresh_copy():
    r = lic_core.get_recipe("core.bmshj2018-hyperprior")
    r["transform"]["N"] = 1
    assert lic_core.get_recipe("bmshj2018-hyperprior")["transform"]["N"] == 128  # short alias too


def test_recipe_is_normalized_with_full_ids(tiny_recipe):
    tiny_recipe["entropy_model"] = {"id": "hyperprior", "N": 16, "hyper": {"id": "hyper-meanscale", "N": 8}}
    codec = lic_core.compose(tiny_recipe)
    em = codec.recipe["entropy_model"]
    assert em["id"] == "core.hyperprior" and em["hyper"] == {"id": "core.hyper-meanscale", "N": 8}
    assert codec.recipe["quantizer"] == {"id": "core.mixed"}
    assert codec.entropy_model.side.hyper.latent_channels == 8


@pytest.mark.parametrize(
    "change, message",
    [
        ({"transform": {"id": "core.nope"}}, "unknown component 'core.nope'"),
        ({"transform": {"id": "core.hyperprior"}}, "is a entropy_model, not a transform"),
        ({"transform": {"id": "core.gdn", "N": 16, "M": 24, "depth": 3}}, "unexpected keyword argument 'depth'"),
        ({"extra": 1}, "unknown recipe keys: extra"),
        ({"entropy_model": {"id": "core.hyperprior", "mode": "laplace"}}, "mode must be"),
    ],
)
def test_composition_errors_are_one_clear_line(tiny_recipe, change, message):
    tiny_recipe.update(change)
    with pytest.raises((CompositionError, ValueError)) as info:
        lic_core.compose(tiny_recipe)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_missing_recipe_file_and_unknown_name():
    with pytest.raises(CompositionError, match="recipe file not found"):
        lic_core.compose("does/not/exist.yaml")
    with pytest.raises(CompositionError, match="unknown recipe 'no-such-recipe'"):
        lic_core.compose("no-such-recipe")


def test_create_builds_one_component():
    q = lic_core.create("core.ste")
    assert isinstance(q, lic_core.Quantizer)
    t = lic_core.create("core.gdn", N=8, M=12)
    assert t.analysis(torch.zeros(1, 3, 32, 32)).shape == (1, 12, 2, 2)


def test_same_weights_same_outputs_as_compressai():
    from compressai.models import MeanScaleHyperprior

    torch.manual_seed(0)
    ours = lic_core.compose("core.mbt2018-mean").eval()
    ref = MeanScaleHyperprior(128, 192).eval()
    mapping = {
        "g_a.": "transform.analysis.",
        "g_s.": "transform.synthesis.",
        "h_a.": "entropy_model.side.hyper.analysis.",
        "h_s.": "entropy_model.side.hyper.synthesis.",
        "entropy_bottleneck.": "entropy_model.side.entropy_bottleneck.",
        "gaussian_conditional.": "entropy_model.y.gaussian_conditional.",
    }
    state = {}
    for k, v in ref.state_dict().items():
        prefix = next(p for p in mapping if k.startswith(p))
        state[mapping[prefix] + k[len(prefix):]] = v
    ours.load_state_dict(state)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = ours(x), ref(x)
    assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-6)
    assert torch.allclose(a["likelihoods"]["y"], b["likelihoods"]["y"], atol=1e-6)


def test_base_recipes_merge_component_entries_and_replace_lists(tiny_recipe):
    child = {"base": "core.mbt2018-mean", "transform": {"N": 64}, "entropy_model": {"id": "core.hyperprior", "mode": "scale"}}
    recipe = lic_core.load_recipe(child)
    assert recipe["transform"] == {"id": "core.gdn", "N": 64, "M": 192}
    assert recipe["entropy_model"] == {"id": "core.hyperprior", "N": 128, "mode": "scale"}
    replaced = lic_core.load_recipe({"base": "core.mbt2018-mean", "quantizer": {"id": "core.ste"}})
    assert replaced["quantizer"] == {"id": "core.ste"}
    assert lic_core.compose(child).num_parameters() < 7_028_003


def test_base_recipe_cycles_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(f"base: {tmp_path / 'b.yaml'}\n")
    (tmp_path / "b.yaml").write_text(f"base: {tmp_path / 'a.yaml'}\n")
    with pytest.raises(CompositionError, match="recipe base cycle"):
        lic_core.compose(tmp_path / "a.yaml")
