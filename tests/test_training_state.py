"""Training-state files (issue 27): a digest over every tensor and the metadata, checked on
resume; every corruption or malformed part is one CheckpointError line."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from lic_core.errors import CheckpointError
from lic_core.training.state import META_KEY, read_state, restore_state, save_state


def _model_and_opt(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    return model, opt


@pytest.fixture
def state_file(tmp_path):
    model, opt = _model_and_opt()
    return save_state(tmp_path / "s.safetensors", model, {"main": opt}, step=7, extra={"note": "x"})


def _refused(path) -> str:
    model, opt = _model_and_opt(1)
    with pytest.raises(CheckpointError) as info:
        restore_state(path, model, {"main": opt})
    assert "\n" not in str(info.value)
    return str(info.value)


def _rewrite(path, change_tensors=None, change_meta=None, raw_meta=None):
    state = load_file(str(path))
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()[META_KEY])
    if change_tensors:
        change_tensors(state)
    if change_meta:
        change_meta(meta)
    save_file(state, str(path), metadata={META_KEY: raw_meta if raw_meta is not None else json.dumps(meta)})


def test_round_trip_restores_everything_and_records_a_digest(state_file):
    tensors, meta = read_state(state_file)
    assert len(meta["digest"]) == 64 and meta["step"] == 7
    model, opt = _model_and_opt(1)
    restore_state(state_file, model, {"main": opt})
    ref, _ = _model_and_opt(0)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), ref.state_dict().values()))


def test_flipped_bytes_inside_a_tensor_are_refused(state_file):
    data = bytearray(state_file.read_bytes())
    data[-3] ^= 0xFF  # the last tensor's payload (the header comes first)
    data[-40] ^= 0x01
    state_file.write_bytes(bytes(data))
    assert "corrupt (its digest does not match" in _refused(state_file)


def test_edited_metadata_is_refused(state_file):
    _rewrite(state_file, change_meta=lambda m: m.update(step=8))
    assert "corrupt" in _refused(state_file)


@pytest.mark.parametrize(
    "raw, words",
    [("{not json", "not valid JSON"), ("[1, 2]", "JSON list, not an object"), ("[" * 100_000 + "]" * 100_000, "not valid JSON")],
)
def test_non_json_and_non_object_metadata(state_file, raw, words):
    _rewrite(state_file, raw_meta=raw)
    assert words in _refused(state_file)


def _with_digest(change_tensors=None, change_meta=None):
    """A change made as an attacker would: the digest recomputed afterwards."""
    from lic_core.training.state import digest

    def tensors_then_digest(state):
        if change_tensors:
            change_tensors(state)
        _with_digest.state = state

    def meta_then_digest(meta):
        if change_meta:
            change_meta(meta)
        meta["digest"] = digest(_with_digest.state, meta)

    return tensors_then_digest, meta_then_digest


@pytest.mark.parametrize(
    "change_tensors, change_meta, words",
    [
        (lambda s: s.pop("model.0.weight"), None, "missing keys 0.weight"),
        (lambda s: s.update({"model.0.weight": torch.zeros(2, 2)}), None, "shape mismatch"),
        (lambda s: s.update({"model.0.weight": torch.zeros(3, 4, dtype=torch.int32)}), None, "must be floating point"),
        (lambda s: s["model.0.bias"].fill_(float("nan")), None, "non-finite"),
        (lambda s: s.update({"opt.main.0.exp_avg": torch.zeros(7)}), None, "exp_avg of parameter 0 is (7,)"),
        (lambda s: s.update({"opt.main.9.exp_avg": torch.zeros(3)}), None, "names no parameter"),
        (lambda s: s.update({"rng.torch": torch.zeros(3, dtype=torch.uint8)}), None, "RNG state rng.torch"),
        (lambda s: s.pop("rng.numpy"), None, "rng.numpy is missing"),
        (None, lambda m: m.pop("step"), "no valid step"),
        (None, lambda m: m.update(step=-3), "no valid step"),
        (None, lambda m: m.update(optimizers={}), "no state for optimizer 'main'"),
        (None, lambda m: m["optimizers"]["main"].update(param_groups=[]), "groups do not match"),
        (None, lambda m: m["rng"].update(numpy="x"), "RNG metadata is malformed"),
        (None, lambda m: m.update(format=2), "format 2 is not 1"),
    ],
)
def test_malformed_parts_each_give_one_line(state_file, change_tensors, change_meta, words):
    t, m = _with_digest(change_tensors, change_meta)
    _rewrite(state_file, t, m)
    assert words in _refused(state_file)


def test_states_without_a_digest_resume_with_a_warning(state_file):
    _rewrite(state_file, change_meta=lambda m: m.pop("digest"))
    model, opt = _model_and_opt(1)
    with pytest.warns(UserWarning, match="without a digest"):
        restore_state(state_file, model, {"main": opt})
    ref, _ = _model_and_opt(0)
    assert torch.equal(model[0].weight, ref[0].weight)


def test_resume_refuses_a_corrupted_state_file(tiny_recipe, image_dir, tmp_path):
    from lic_core.errors import LicError
    from lic_core.training.trainer import TrainConfig, Trainer

    def config(**kw):
        base = dict(recipe=tiny_recipe, data=str(image_dir), lmbda=0.01, steps=2, batch=1, patch=64,
                    out=str(tmp_path / "t.safetensors"), val_count=0, log_every=1, ckpt_every=1, progress=False)  # fmt: skip
        return TrainConfig(**{**base, **kw})

    Trainer(config(steps=1)).run()  # leaves t.state.safetensors at step 1
    state = tmp_path / "t.state.safetensors"
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0x10  # two flipped bytes inside the tensors
    data[len(data) // 2 + 7] ^= 0x01
    state.write_bytes(bytes(data))
    with pytest.raises(LicError, match="corrupt") as info:
        Trainer(config(resume=True))
    assert "\n" not in str(info.value)


def test_a_state_whose_coder_tables_have_other_widths_resumes_into_a_codec_with_tables(tmp_path):
    """lic train --init fills the tables before --resume loads the state: they take its sizes
    (the upper ladder's first resume failed on this); a table no coder could use is refused."""
    import lic_core

    recipe = {"transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}
    key = "entropy_model.side.entropy_bottleneck._quantized_cdf"
    saved = lic_core.compose(recipe)
    with torch.no_grad():
        saved.entropy_model.side.entropy_bottleneck.quantiles.mul_(3)  # wider tables
    saved.update(force=True)
    opt = torch.optim.Adam(saved.parameters())
    path = save_state(tmp_path / "s.safetensors", saved, {"main": opt}, step=3)
    resumed = lic_core.compose(recipe)
    resumed.update(force=True)
    assert resumed.state_dict()[key].shape != saved.state_dict()[key].shape
    restore_state(path, resumed, {"main": torch.optim.Adam(resumed.parameters())})
    assert torch.equal(resumed.state_dict()[key], saved.state_dict()[key])

    def too_wide(state):
        state["model." + key] = torch.ones(state["model." + key].size(0), 10**6, dtype=torch.int32)

    t, m = _with_digest(too_wide, None)
    _rewrite(path, t, m)
    with pytest.raises(CheckpointError, match="rows are 1000000 wide"):
        restore_state(path, lic_core.compose(recipe), {"main": torch.optim.Adam(resumed.parameters())})
