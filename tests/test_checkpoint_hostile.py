"""Hostile coding checkpoints (issue 27): every bad table, dtype, value or recipe size is one
CheckpointError line from ``lic_core.load``, before the coder or an allocation can fail."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

import lic_core
from lic_core import budget
from lic_core.errors import CheckpointError, CompositionError

G = "entropy_model.y.gaussian_conditional."
B = "entropy_model.side.entropy_bottleneck."


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny trained-shape checkpoint: (its tensors, its metadata)."""
    torch.manual_seed(0)
    recipe = {"name": "tiny", "transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}
    codec = lic_core.compose(recipe, training=False)
    codec.update(force=True)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    lic_core.save(codec, path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    return load_file(str(path)), meta


def _write(tmp_path, saved, change=None, recipe=None, meta=None):
    state, base = saved
    state = {k: v.clone() for k, v in state.items()}
    meta = dict(meta or base)
    if change:
        change(state)
    if recipe is not None:
        meta["lic.recipe"] = recipe if isinstance(recipe, str) else json.dumps(recipe)
    path = tmp_path / "hostile.safetensors"
    save_file(state, str(path), metadata=meta)
    return path


def _refused(path, **kwargs) -> str:
    with pytest.raises(CheckpointError) as info:
        lic_core.load(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    return message


def test_the_untouched_file_loads_and_codes(tmp_path, saved):
    codec = lic_core.load(_write(tmp_path, saved))
    x = torch.rand(1, 3, 64, 64)
    assert lic_core.decompress_image(lic_core.compress_image(codec, x), codec).shape == x.shape


def _set(key, fn):
    return lambda s: fn(s[key])


@pytest.mark.parametrize(
    "change, names, words",
    [
        (_set(G + "_quantized_cdf", torch.Tensor.zero_), G + "_quantized_cdf", "not a usable CDF"),  # was SIGFPE
        (_set(B + "_quantized_cdf", torch.Tensor.zero_), B + "_quantized_cdf", "not a usable CDF"),
        (_set(G + "_quantized_cdf", lambda t: t[:, 2].fill_(t[0, 1])), G + "_quantized_cdf", "rise strictly"),
        (_set(B + "_quantized_cdf", lambda t: t[3, 1:].fill_(70000)), B + "_quantized_cdf", "row 3"),
        (_set(G + "_offset", lambda t: t.fill_(2**30)), G + "_offset", "must lie in"),  # was a hang
        (_set(B + "_offset", lambda t: t.fill_(-(2**30))), B + "_offset", "must lie in"),
        (_set(G + "_cdf_length", lambda t: t.fill_(10**6)), G + "_cdf_length", "the table's width"),
        (_set(B + "_cdf_length", lambda t: t.fill_(1)), B + "_cdf_length", "must lie in"),
        (_set(G + "scale_table", torch.Tensor.neg_), G + "scale_table", "positive and strictly increasing"),
        (_set(G + "scale_table", lambda t: t.flip(0)), None, None),  # flip returns a copy: no change
        (_set(G + "scale_table", lambda t: t.copy_(t.flip(0))), G + "scale_table", "strictly increasing"),
        (_set("transform.synthesis.0.weight", lambda t: t.view(-1)[0].fill_(float("nan"))),
         "transform.synthesis.0.weight", "non-finite"),  # was an IndexError
        (_set(B + "quantiles", lambda t: t.view(-1)[0].fill_(float("inf"))), B + "quantiles", "non-finite"),
        (_set(B + "quantiles", lambda t: t[:, :, 2].fill_(1e9)), B + "quantiles", "span more than"),
    ],
)  # fmt: skip
def test_bad_values_name_the_tensor(tmp_path, saved, change, names, words):
    path = _write(tmp_path, saved, change)
    if names is None:
        lic_core.load(path)
        return
    message = _refused(path)
    assert names in message and words in message


def test_weights_stored_as_integers_are_refused(tmp_path, saved):  # was a hang
    def to_int(state):
        for k, v in state.items():
            if v.is_floating_point():
                state[k] = v.to(torch.int32)

    assert "must be floating point" in _refused(_write(tmp_path, saved, to_int))
    table = _refused(_write(tmp_path, saved, lambda s: s.update({G + "_offset": s[G + "_offset"].long()})))
    assert G + "_offset is int64 in the file but must be int32" in table


def test_table_shapes_are_checked_before_the_tensors_are_read(tmp_path, saved):
    wide = lambda s: s.update({B + "_quantized_cdf": torch.zeros(s[B + "_offset"].numel(), 2**16 + 2, dtype=torch.int32)})
    assert "rows are 65538 wide" in _refused(_write(tmp_path, saved, wide))
    rows = lambda s: s.update({G + "_quantized_cdf": s[G + "_quantized_cdf"][:5]})
    assert "do not form one table" in _refused(_write(tmp_path, saved, rows))
    partial = lambda s: s.update({B + "_offset": torch.zeros(0, dtype=torch.int32)})
    assert "do not form one table" in _refused(_write(tmp_path, saved, partial))


def _empty_tables(state):
    for k in list(state):
        if k.rsplit(".", 1)[-1] in ("_quantized_cdf", "_offset", "_cdf_length"):
            state[k] = torch.zeros(0, dtype=torch.int32)


def test_a_file_without_tables_still_gets_them_within_bounds(tmp_path, saved):
    codec = lic_core.load(_write(tmp_path, saved, _empty_tables))
    x = torch.rand(1, 3, 64, 64)
    assert lic_core.decompress_image(lic_core.compress_image(codec, x), codec).shape == x.shape
    # 10^5 scales x ~3,100 symbols: refused before CompressAI's rows-by-width work tensors
    recipe = json.loads(saved[1]["lic.recipe"])
    recipe["entropy_model"]["levels"] = 10**5
    assert "would need CDF tables of over 16,777,216 entries" in _refused(_write(tmp_path, saved, _empty_tables, recipe=recipe))
    wide = lambda s: (_empty_tables(s), s[B + "quantiles"][:, :, 2].fill_(40000), s[B + "quantiles"][:, :, 0].fill_(-40000))
    assert "quantiles span more than 65534 symbols" in _refused(_write(tmp_path, saved, wide))


def _recipe(saved, **changes):
    recipe = json.loads(saved[1]["lic.recipe"])
    for path, value in changes.items():
        section, key = path.split("__")
        recipe[section][key] = value
    return recipe


@pytest.mark.parametrize(
    "value, words",
    [
        (1.5, "transform.N must be an integer (default 128), not 1.5"),
        (None, "transform 'core.gdn': "),  # the component's own error, as a CompositionError
        ("abc", "transform.N must be an integer (default 128), not 'abc'"),
        (True, "transform.N must be an integer"),
        (1e6, "not 1000000.0"),
        (-1, "negative dimension"),
        (10**5, "over the size budget"),
        (4096, "over the size budget"),  # 2.4 GB before
    ],
)
def test_hostile_recipe_sizes_are_refused_before_allocation(tmp_path, saved, value, words):
    message = _refused(_write(tmp_path, saved, recipe=_recipe(saved, transform__N=value)))
    assert words in message


def test_deep_post_filter_and_nested_json(tmp_path, saved):
    recipe = _recipe(saved)
    recipe["prepost"] = [{"id": "core.postfilter", "channels": 8, "depth": 10**7}]
    assert "pass the size budget" in _refused(_write(tmp_path, saved, recipe=recipe), max_params=200_000)
    assert "nested too deeply" in _refused(_write(tmp_path, saved, recipe='{"a":' * 100_000 + "1" + "}" * 100_000))
    recipe = _recipe(saved)
    recipe["description"] = json.loads("[" * 500 + "]" * 500)
    assert "nested deeper than 32 levels" in _refused(_write(tmp_path, saved, recipe=recipe))
    assert "not a mapping" in _refused(_write(tmp_path, saved, recipe="[1, 2]"))
    recipe = _recipe(saved)
    recipe["transform"] = {"id": {"nested": 1}}
    assert "a string 'id'" in _refused(_write(tmp_path, saved, recipe=recipe))


def test_the_budget_can_be_raised_or_lowered(tmp_path, saved, monkeypatch):
    path = _write(tmp_path, saved)
    assert "size budget of 1,000 elements" in _refused(path, max_params=1000)
    monkeypatch.setenv(budget.ENV, "1000")
    assert "size budget of 1,000" in _refused(path)
    assert lic_core.load(path, max_params=10**7) is not None
    monkeypatch.setenv(budget.ENV, "lots")
    assert "is not a number" in _refused(path)
    monkeypatch.setenv(budget.ENV, "1e7")
    assert lic_core.load(path) is not None


def test_size_budget_counts_before_allocating():
    with pytest.raises(budget.BudgetExceeded, match="100,000,000-element"):
        with budget.size_budget(10**6):
            torch.empty(10**4, 10**4)
    with pytest.raises(budget.BudgetExceeded, match="parameters and buffers"):
        with budget.size_budget(1000):
            torch.nn.Sequential(*[torch.nn.Linear(10, 10) for _ in range(20)])
    with budget.size_budget(10**6):  # the hooks and the mode are gone afterwards
        torch.nn.Linear(10, 10)
    torch.empty(2000, 1000)


def test_composition_type_errors_are_composition_errors(tiny_recipe):
    tiny_recipe["transform"]["N"] = "wide"
    with pytest.raises(CompositionError, match="must be an integer"):
        lic_core.compose(tiny_recipe)
    tiny_recipe["transform"]["N"] = -4
    with pytest.raises(CompositionError, match="core.gdn"):  # and a ValueError, as factories' own errors
        lic_core.compose(tiny_recipe)


def test_cli_max_params_flag(tmp_path, saved, capsys, monkeypatch):
    from PIL import Image

    from lic_core.cli.main import main

    monkeypatch.delenv(budget.ENV, raising=False)  # the flag sets it for the process: undone after the test
    path = _write(tmp_path, saved)
    Image.new("RGB", (32, 32), (90, 120, 30)).save(tmp_path / "in.png")
    args = ["compress", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.lic"), "--model", str(path)]
    assert main([*args, "--max-params", "1000"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("lic: error: ") and "size budget of 1,000 elements" in err and "\n" not in err
    assert main([*args, "--max-params", "10000000"]) == 0


def test_fine_tuning_loads_are_checked_too(tmp_path, saved):  # lic train --init [--init-matching]
    from lic_core import checkpoint

    codec = lic_core.compose(json.loads(saved[1]["lic.recipe"]))
    zeroed = _write(tmp_path, saved, _set(G + "_quantized_cdf", torch.Tensor.zero_))
    with pytest.raises(CheckpointError, match="not a usable CDF"):
        checkpoint.load_weights(codec, zeroed)
    nan = _write(tmp_path, saved, _set("transform.synthesis.0.weight", lambda t: t.view(-1)[0].fill_(float("nan"))))
    with pytest.raises(CheckpointError, match="transform.synthesis.0.weight holds 1 non-finite"):
        checkpoint.load_matching_weights(codec, nan)
