"""Coder tables stored once for several checkpoints (issue 31): the loaded codec is the one a
self-contained file gives, the ladder shares one tables file, and every hostile reference is
one CheckpointError line."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import lic_core
from lic_core import shared_tables, zoo
from lic_core.checkpoint import weights_digest
from lic_core.errors import CheckpointError

RECIPE = {"name": "tiny", "transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}
CDF = "entropy_model.y.gaussian_conditional._quantized_cdf"


def _codec(seed: int):
    torch.manual_seed(seed)
    codec = lic_core.compose(RECIPE, training=False)
    codec.update(force=True)
    return codec


def _meta(path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


@pytest.fixture
def pair(tmp_path):
    """Two codecs with the same Gaussian table saved with shared tables, one self-contained."""
    a, b = _codec(0), _codec(1)
    b.load_state_dict({**b.state_dict(), **{k: v for k, v in a.state_dict().items() if "gaussian_conditional" in k}})
    lic_core.save(a, tmp_path / "a.safetensors", share_tables=True)
    lic_core.save(b, tmp_path / "b.safetensors", share_tables=True)
    lic_core.save(a, tmp_path / "whole.safetensors")
    return tmp_path, a


def test_shared_tables_load_to_the_same_codec_and_are_stored_once(pair):
    folder, a = pair
    tables = sorted(p.name for p in folder.glob("tables-*.safetensors"))
    assert len(tables) == 1 and shared_tables.NAME.fullmatch(tables[0])
    assert CDF not in load_file(str(folder / "a.safetensors")) and CDF in load_file(str(folder / tables[0]))
    shared, whole = lic_core.load(folder / "a.safetensors"), lic_core.load(folder / "whole.safetensors")
    assert weights_digest(shared) == weights_digest(whole) == weights_digest(a)
    assert (folder / "a.safetensors").stat().st_size < (folder / "whole.safetensors").stat().st_size / 2
    x = torch.rand(1, 3, 64, 64)
    assert lic_core.compress_image(shared, x) == lic_core.compress_image(whole, x)


def test_the_default_ladder_shares_one_tables_file():
    files = {json.loads(_meta(m.path())[shared_tables.KEY])["file"] for m in zoo.ladder()}
    assert len(files) == 1
    assert zoo.default_quality() == 3 and zoo.model_for_quality().id == "core.lite-q3"


def test_a_rebuilt_gaussian_table_keeps_the_loaded_one():
    codec = zoo.load_model("core.lite-q1")
    before = weights_digest(codec)
    codec.update(force=True)  # rebuilding would round exp/erfc as this machine does
    assert weights_digest(codec) == before


def _rewrite(path, **change):
    state, meta = load_file(str(path)), _meta(path)
    meta.update(change)
    save_file(state, str(path), metadata=meta)


def _refused(path) -> str:
    with pytest.raises(CheckpointError) as info:
        lic_core.load(path)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    return message


@pytest.mark.parametrize(
    "value, words",
    [
        ("{", "not valid JSON"),
        ('["x"]', "must be"),
        (json.dumps({"file": "../../etc/passwd", "sha256": "0" * 64}), "not a tables-<hex16>"),
        (json.dumps({"file": "/abs/tables-0000000000000000.safetensors", "sha256": "0" * 64}), "not a tables-<hex16>"),
        (json.dumps({"file": "tables-0000000000000000.safetensors", "sha256": "1" * 64}), "disagree"),
        (json.dumps({"file": "tables-0000000000000000.safetensors", "sha256": "0" * 64}), "not beside it"),
    ],
)
def test_hostile_references_are_one_line_errors(pair, value, words):
    folder, _ = pair
    _rewrite(folder / "a.safetensors", **{shared_tables.KEY: value})
    assert words in _refused(folder / "a.safetensors")


def test_a_tables_file_with_other_content_or_overlapping_keys_is_refused(pair):
    folder, _ = pair
    name = json.loads(_meta(folder / "a.safetensors")[shared_tables.KEY])["file"]
    tables = folder / name
    state = load_file(str(tables))
    state[CDF] = state[CDF].clone()
    state[CDF][0, 1] += 1
    save_file(state, str(tables), metadata={"lic.format": shared_tables.FORMAT})
    assert "SHA-256 differs" in _refused(folder / "a.safetensors")
    # the checkpoint itself also holds a table its tables file holds
    lic_core.save(_codec(0), folder / "c.safetensors", share_tables=True)
    whole = load_file(str(folder / "whole.safetensors"))
    both = {**load_file(str(folder / "c.safetensors")), CDF: whole[CDF]}
    save_file(both, str(folder / "c.safetensors"), metadata=_meta(folder / "c.safetensors"))
    assert "both in it and in" in _refused(folder / "c.safetensors")
