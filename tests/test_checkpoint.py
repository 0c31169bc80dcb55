"""Coding checkpoints: safetensors with lic metadata, exact round trips, clear refusals, atomic writes."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

import lic_core
from lic_core import checkpoint
from lic_core.errors import CheckpointError
from lic_core.imagecodec import compress_image, decompress_image


def test_save_load_gives_identical_outputs_and_bitstream(tiny_codec, tmp_path):
    path = tmp_path / "tiny.safetensors"
    lic_core.save(tiny_codec, path, lmbda=0.0483, metric="mse", step=1200)
    loaded = lic_core.load(path)
    assert not loaded.training and loaded.recipe == tiny_codec.recipe
    meta = loaded.checkpoint_metadata
    assert meta["lic.format"] == "lic-checkpoint/1" and meta["lic.core_version"] == lic_core.__version__
    assert json.loads(meta["lic.recipe"]) == tiny_codec.recipe
    assert json.loads(meta["lic.plugins"]) == {"core": lic_core.__version__}
    assert (meta["lic.lambda"], meta["lic.metric"], meta["lic.step"]) == ("0.0483", "mse", "1200")
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x)["x_hat"], tiny_codec(x)["x_hat"])
    data = compress_image(tiny_codec, x)
    assert compress_image(loaded, x) == data
    assert torch.equal(decompress_image(data, loaded), decompress_image(data, tiny_codec))


def test_files_with_saved_context_masks_still_load(tmp_path):
    codec = lic_core.compose(
        {"transform": {"id": "core.gdn", "N": 8, "M": 8},
         "entropy_model": {"id": "core.checkerboard", "N": 8}, "quantizer": {"id": "core.mixed"}},
        training=False,
    )  # fmt: skip
    codec.update(force=True)
    path = tmp_path / "cb.safetensors"
    lic_core.save(codec, path)
    state, meta = checkpoint._read_tensors(path), checkpoint.read_metadata(path)
    assert not any(k.endswith(".mask") for k in state)
    state["entropy_model.coder.context.0.mask"] = codec.entropy_model.coder.context[0].mask  # as files once had
    save_file(state, str(path), metadata=meta)
    x = torch.rand(1, 3, 64, 64)
    assert compress_image(lic_core.load(path), x) == compress_image(codec, x)


def test_training_only_modules_are_not_saved(tiny_recipe, tmp_path):
    from lic_core.interfaces import LossTerm

    class Aux(LossTerm):
        def __init__(self):
            super().__init__()
            self.head = torch.nn.Linear(3, 3)

    codec = lic_core.compose(tiny_recipe).eval()
    codec.losses.append(Aux())
    codec.update(force=True)
    path = tmp_path / "c.safetensors"
    checkpoint.save_codec(codec, path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        keys = set(f.keys())
    assert keys == set(codec.coding_state_dict()) and not any(k.startswith("losses.") for k in keys)
    assert any(k.endswith("_quantized_cdf") for k in keys)  # ready to code once loaded


def test_loading_for_coding_builds_no_loss_terms_even_when_their_plugin_is_missing(tiny_recipe, tmp_path):
    codec = lic_core.compose({**tiny_recipe, "losses": [{"id": "core.rd", "weight": 0.5}]}).eval()
    assert len(codec.losses) == 1
    codec.update(force=True)
    codec.recipe["losses"] = [{"id": "gone.aux", "weight": 1.0}]  # as if trained with an uninstalled plugin
    checkpoint.save_codec(codec, tmp_path / "c.safetensors")
    loaded = lic_core.load(tmp_path / "c.safetensors")
    assert len(loaded.losses) == 0 and loaded.recipe["losses"] == [{"id": "gone.aux", "weight": 1.0}]
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(lic_core.decompress_image(lic_core.compress_image(codec, x), loaded),
                       lic_core.decompress_image(lic_core.compress_image(loaded, x), codec))  # fmt: skip


def test_checkpoint_saved_before_update_gets_its_tables(tiny_recipe, tmp_path):
    torch.manual_seed(0)
    codec = lic_core.compose(tiny_recipe)
    path = tmp_path / "raw.safetensors"
    checkpoint.save_codec(codec, path)
    loaded = lic_core.load(path)
    x = torch.rand(1, 3, 64, 64)
    assert decompress_image(compress_image(loaded, x), loaded).shape == x.shape


def _error(path) -> str:
    with pytest.raises(CheckpointError) as info:
        lic_core.load(path)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_refuses_non_lic_and_non_safetensors_files(tmp_path):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    assert "without lic metadata" in _error(plain)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04this is a pickle, not safetensors")
    assert "not a safetensors file" in _error(junk)
    assert "not found" in _error(tmp_path / "missing.safetensors")


def test_refuses_tensors_that_do_not_match_the_recipe(tiny_codec, tmp_path):
    path = tmp_path / "tiny.safetensors"
    checkpoint.save_codec(tiny_codec, path)
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    state = load_file(str(path))
    recipe = json.loads(meta["lic.recipe"])
    recipe["transform"]["N"] = 32  # the same keys, other shapes
    save_file(state, str(path), metadata={**meta, "lic.recipe": json.dumps(recipe)})
    message = _error(path)
    assert "shape mismatch" in message and "transform.analysis" in message
    state.pop("transform.analysis.0.weight")
    state["extra.weight"] = torch.zeros(1)
    save_file(state, str(path), metadata=meta)
    message = _error(path)
    assert "missing keys transform.analysis.0.weight" in message and "unexpected keys extra.weight" in message
    recipe["transform"]["id"] = "nosuchplugin.transform"
    save_file(state, str(path), metadata={**meta, "lic.recipe": json.dumps(recipe)})
    assert "cannot rebuild its recipe" in _error(path)


def test_failed_save_leaves_the_old_file_intact(tiny_codec, tmp_path, monkeypatch):
    path = tmp_path / "tiny.safetensors"
    checkpoint.save_codec(tiny_codec, path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr("lic_core.atomic.os.fsync", broken_fsync)
    with torch.no_grad():
        tiny_codec.transform.analysis[0].weight.add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save_codec(tiny_codec, path, step=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.safetensors"]  # no temporary left behind


def test_digests_follow_weights_and_coding_recipe(tiny_codec):
    digest = checkpoint.weights_digest(tiny_codec)
    assert checkpoint.weights_digest(tiny_codec) == digest and len(digest) == 32
    with torch.no_grad():
        tiny_codec.transform.synthesis[0].weight[0, 0, 0, 0] += 1e-3
    assert checkpoint.weights_digest(tiny_codec) != digest
    recipe = dict(tiny_codec.recipe)
    same = {**recipe, "name": "renamed", "train": {"lr": 1e-4}}
    assert checkpoint.recipe_digest(same) == checkpoint.recipe_digest(recipe)
    other = {**recipe, "quantizer": {"id": "core.ste"}}
    assert checkpoint.recipe_digest(other) != checkpoint.recipe_digest(recipe)
