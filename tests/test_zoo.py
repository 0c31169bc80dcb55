"""Shipped models: the ``lic_models`` hook, the default ladder, ``--quality``, and decoding a
stream with the model its header names."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

import lic_core
from lic_core import discovery, zoo
from lic_core.cli.main import main
from lic_core.errors import LicError
from lic_core.hookspec import hookimpl
from lic_core.specs import ModelSpec

TINY = {"name": "tiny", "transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}


def _plugin(name: str, models: list[ModelSpec]) -> types.ModuleType:
    module = types.ModuleType(f"fake_{name}")
    module.lic_models = hookimpl(lambda: models)
    return module


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A registry with the real plugins plus plugin ``toy`` shipping a 2-point ladder of tiny
    codecs inside package ``toy_weights`` (on a temporary sys.path entry)."""
    package = tmp_path / "toy_weights"
    (package / "w").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    specs = [ModelSpec(f"toy.q{q}", f"toy_weights:w/q{q}.safetensors", "tiny", quality=q, lmbda=0.01 * q) for q in (1, 2)]
    specs.append(ModelSpec("toy.gone", "toy_weights:w/missing.safetensors", "tiny"))
    registry = discovery.Registry().load_entry_points()
    record = registry.add_module(_plugin("toy", specs), name="toy")
    assert record.status == "ok", record.error
    monkeypatch.setattr(discovery, "_REGISTRY", registry)
    for q in (1, 2):
        torch.manual_seed(q)
        codec = lic_core.compose(TINY).eval()
        codec.update(force=True)
        lic_core.save(codec, tmp_path / f"trained{q}.safetensors", lmbda=0.01 * q, step=5)
        zoo.ship(tmp_path / f"trained{q}.safetensors", f"toy.q{q}", note="made by a test")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(tmp_path / "img.png")
    return tmp_path


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ladder_default_quality_and_bad_quality(shipped):
    assert [m.id for m in zoo.ladder("toy")] == ["toy.q1", "toy.q2"]
    assert zoo.default_quality("toy") == 2 and zoo.model_for_quality(None, "toy").id == "toy.q2"
    assert zoo.model_for_quality(1, "toy").id == "toy.q1"
    with pytest.raises(LicError, match="one of 1, 2"):
        zoo.model_for_quality(3, "toy")
    with pytest.raises(LicError, match="not installed"):
        zoo.load_model("toy.gone")


def test_shipped_file_records_its_id_and_training_metadata(shipped):
    codec = zoo.load_model("q1")  # unique short alias
    meta = codec.checkpoint_metadata
    assert codec.model_id == "toy.q1" and meta["lic.model_id"] == "toy.q1"
    assert json.loads(meta["lic.lambda"]) == 0.01 and json.loads(meta["lic.step"]) == 5 and meta["lic.note"] == "made by a test"
    assert meta["lic.parameters_dtype"] == "float16"  # stored in half precision, loaded as float32
    assert all(p.dtype == torch.float32 and torch.equal(p, p.half().float()) for p in codec.parameters())
    with pytest.raises(LicError, match="recipe"):
        other = lic_core.compose({**TINY, "name": "other"}).eval()
        other.update(force=True)
        lic_core.save(other, shipped / "other.safetensors")
        zoo.ship(shipped / "other.safetensors", "toy.q1")


def test_stream_names_its_model_and_decodes_without_model(shipped, capsys):
    code, out, _ = _run(capsys, "compress", shipped / "img.png", "-o", shipped / "a.lic", "--model", "toy.q1")
    assert code == 0 and "with toy.q1" in out
    code, out, err = _run(capsys, "decompress", shipped / "a.lic", "-o", shipped / "a.png")
    assert code == 0, err
    reference = lic_core.decompress_image((shipped / "a.lic").read_bytes(), zoo.load_model("toy.q1"))
    with Image.open(shipped / "a.png") as im:
        decoded = torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float() / 255
    assert torch.equal(decoded, reference.mul(255).round().div(255))


def test_stream_of_a_model_that_is_not_installed_is_a_one_line_error(shipped, capsys):
    codec = zoo.load_model("toy.q2")
    codec.model_id = "elsewhere.model"
    (shipped / "b.lic").write_bytes(lic_core.compress_image(codec, shipped / "img.png"))
    code, _, err = _run(capsys, "decompress", shipped / "b.lic", "-o", shipped / "b.png")
    assert code == 1 and "elsewhere.model" in err and "--model" in err and err.count("\n") == 1
    assert not (shipped / "b.png").exists()


def test_model_or_quality_not_both(shipped, capsys):
    with pytest.raises(SystemExit):
        main(["compress", str(shipped / "img.png"), "-o", str(shipped / "c.lic"), "--model", "toy.q1", "--quality", "1"])
    code, _, err = _run(capsys, "compress", shipped / "img.png", "-o", shipped / "c.lic", "--model", "toy.nope")
    assert code == 1 and "unknown model" in err


def test_bad_model_specs_make_the_plugin_an_error(shipped):
    registry = discovery.get_registry()
    wrong = registry.add_module(_plugin("wrong", [ModelSpec("other.m", "x:y.safetensors")]), name="wrong")
    assert wrong.status == "error" and "must start with 'wrong.'" in wrong.error
    dup = registry.add_module(_plugin("toy2", [ModelSpec("toy.q1", "x:y.safetensors")]), name="toy")
    assert dup.status == "error"
    with pytest.raises(ValueError, match="namespaced"):
        ModelSpec("plain", "x:y.safetensors")


def test_models_list_is_light_and_shows_the_default_ladder():
    code = (
        "import sys, json, io, contextlib\n"
        "from lic_core.cli.main import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    main(['models', 'list', '--json'])\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'models': json.loads(buf.getvalue())}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch"] is False
    core = [m for m in result["models"] if m["id"].startswith("core.")]
    assert [m["quality"] for m in core] == list(range(1, len(core) + 1)) and len(core) >= 4


def test_a_ladder_may_mark_its_default_rate_point_once(shipped):
    registry = discovery.get_registry()
    marked = [ModelSpec(f"pick.q{q}", "x:y.safetensors", quality=q, default=q == 1) for q in (1, 2, 3)]
    assert registry.add_module(_plugin("pick", marked), name="pick").status == "ok"
    assert zoo.default_quality("pick") == 1 and zoo.default_quality("toy") == 2  # unmarked: the middle
    twice = [ModelSpec(f"two.q{q}", "x:y.safetensors", quality=q, default=True) for q in (1, 2)]
    record = registry.add_module(_plugin("two", twice), name="two")
    assert record.status == "error" and "one at most" in record.error
    with pytest.raises(ValueError, match="only a model with a quality"):
        ModelSpec("x.m", "x:y.safetensors", default=True)
