"""``lic compress``/``decompress``/``compose``: outputs, and one-line errors with exit 1 for bad streams."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import lic_core
from lic_core.cli.main import main

TINY = {"name": "tiny", "transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    codec = lic_core.compose(TINY).eval()
    codec.update(force=True)
    lic_core.save(codec, root / "tiny.safetensors")
    torch.manual_seed(1)
    other = lic_core.compose(TINY).eval()
    other.update(force=True)
    lic_core.save(other, root / "other.safetensors")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).save(root / "img.png")
    return root


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_compress_then_decompress(files, capsys):
    code, out, err = _run(capsys, "compress", files / "img.png", "-o", files / "img.lic", "--model", files / "tiny.safetensors")
    size = (files / "img.lic").stat().st_size
    assert code == 0 and f"{size} bytes" in out and f"{8 * size / (37 * 53):.4f} bpp" in out
    code, out, err = _run(capsys, "decompress", files / "img.lic", "-o", files / "out.png", "--model", files / "tiny.safetensors")
    assert code == 0 and "53x37" in out
    with Image.open(files / "out.png") as im:
        assert im.size == (53, 37) and im.mode == "RGB"


def _bad_streams(good: bytes) -> dict[str, bytes]:
    flipped_payload, flipped_header = bytearray(good), bytearray(good)
    flipped_payload[-7] ^= 0xFF
    flipped_header[12] ^= 0x01
    return {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "payload": bytes(flipped_payload),
        "header": bytes(flipped_header),
        "version": good[:3] + b"\x07" + good[4:],
    }


@pytest.mark.parametrize("kind", ["empty", "truncated", "payload", "header", "version", "other-weights"])
def test_bad_streams_exit_1_with_one_line(files, capsys, kind):
    model = files / "tiny.safetensors"
    _run(capsys, "compress", files / "img.png", "-o", files / "good.lic", "--model", model)
    good = (files / "good.lic").read_bytes()
    if kind == "other-weights":
        stream, model = files / "good.lic", files / "other.safetensors"
    else:
        stream = files / f"{kind}.lic"
        stream.write_bytes(_bad_streams(good)[kind])
    code, out, err = _run(capsys, "decompress", stream, "-o", files / f"{kind}.png", "--model", model)
    assert code == 1 and out == ""
    assert err.startswith("lic: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not (files / f"{kind}.png").exists()


def test_decompress_without_model_and_compress_of_a_non_image(files, capsys):
    _run(capsys, "compress", files / "img.png", "-o", files / "good.lic", "--model", files / "tiny.safetensors")
    code, _, err = _run(capsys, "decompress", files / "good.lic", "-o", files / "x.png")
    assert code == 1 and "--model" in err and err.count("\n") == 1
    (files / "text.png").write_text("hello")
    code, _, err = _run(capsys, "compress", files / "text.png", "-o", files / "t.lic", "--model", files / "tiny.safetensors")
    assert code == 1 and "not an image" in err and err.count("\n") == 1


def test_compose_summary_and_save(tmp_path, capsys):
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(TINY))
    code, out, _ = _run(capsys, "compose", recipe, "--summary", "--save", tmp_path / "untrained.safetensors")
    assert code == 0
    codec = lic_core.compose(TINY)
    for text in ("stride   64", "core.gdn N=16 M=24", "core.hyperprior N=16", "core.mixed", f"{codec.num_parameters():,}",
                 "training-only parameters  0", "MACs for a 256x256 image"):  # fmt: skip
        assert text in out, text
    analysis = sum(p.numel() for p in codec.transform.analysis.parameters())
    assert f"{analysis:,}" in out
    loaded = lic_core.load(tmp_path / "untrained.safetensors")
    x = torch.rand(1, 3, 64, 64)
    assert lic_core.decompress_image(lic_core.compress_image(loaded, x), loaded).shape == x.shape
    code, out, _ = _run(capsys, "compose", recipe)
    assert code == 0 and out.startswith("tiny: stride 64")


def test_macs_count_the_convolutions():
    from lic_core.evaluation.macs import part_macs

    codec = lic_core.compose(TINY)
    per, total = part_macs(codec)
    # the first layer: a 5x5 stride-2 conv, 3 -> 16 channels, a 128x128 output
    assert per["transform.analysis.0"] == 128 * 128 * 16 * 3 * 25
    assert total == sum(per[k] for k in ("transform.analysis", "transform.synthesis", "entropy_model"))


def _one_error(code: int, out: str, err: str) -> str:
    assert code == 1 and out == "" and err.startswith("lic: error: ") and err.count("\n") == 1, err
    return err.strip()


@pytest.mark.parametrize("how", ["same-path", "hard-link", "symlink"])
def test_an_output_that_is_the_input_is_refused_and_the_input_kept(files, capsys, tmp_path, how):
    src = tmp_path / "in.png"
    src.write_bytes((files / "img.png").read_bytes())
    out = {"same-path": src, "hard-link": tmp_path / "hard.png", "symlink": tmp_path / "link.png"}[how]
    if how == "hard-link":
        out.hardlink_to(src)
    elif how == "symlink":
        out.symlink_to(src)
    err = _one_error(*_run(capsys, "compress", src, "-o", out, "--model", files / "tiny.safetensors"))
    assert err == f"lic: error: cannot write {out}: it is the same file as the input {src}"
    assert src.read_bytes() == (files / "img.png").read_bytes()


def test_decompress_onto_its_stream_and_onto_the_model_are_refused(files, capsys, tmp_path):
    model = files / "tiny.safetensors"
    stream = tmp_path / "s.lic"
    _run(capsys, "compress", files / "img.png", "-o", stream, "--model", model)
    data = stream.read_bytes()
    err = _one_error(*_run(capsys, "decompress", stream, "-o", stream, "--model", model))
    assert err == f"lic: error: cannot write {stream}: it is the same file as the input {stream}"
    err = _one_error(*_run(capsys, "compress", files / "img.png", "-o", model, "--model", model))
    assert err == f"lic: error: cannot write {model}: it is the same file as the input {model}"
    assert stream.read_bytes() == data and lic_core.load(model) is not None


@pytest.mark.parametrize("kind", ["empty", "directory", "directory-slash", "fifo", "char-device"])
def test_outputs_that_are_not_regular_files_are_one_line_errors_naming_the_path(files, capsys, tmp_path, kind):
    import os

    if kind in ("fifo", "char-device") and os.name != "posix":
        pytest.skip("POSIX special files")
    out, expected = {
        "empty": ("", "the output path is empty: give a file name"),
        "directory": (tmp_path, f"cannot write {tmp_path}: it is a directory, not a regular file"),
        "directory-slash": (f"{tmp_path}/", f"cannot write {tmp_path}/: the output names a directory, it must be a file"),
        "fifo": (tmp_path / "fifo", f"cannot write {tmp_path / 'fifo'}: it is a FIFO (named pipe), not a regular file"),
        "char-device": ("/dev/null", "cannot write /dev/null: it is a character device, not a regular file"),
    }[kind]
    if kind == "fifo":
        os.mkfifo(out)
    for argv in (("compress", files / "img.png"), ("decompress", files / "good.lic")):
        err = _one_error(*_run(capsys, *argv, "-o", out, "--model", files / "tiny.safetensors"))
        assert err == f"lic: error: {expected}" and ".tmp" not in err
    if kind == "fifo":
        assert os.path.exists(out) and not os.path.isfile(out)  # still a FIFO


def test_an_existing_regular_output_is_replaced(files, capsys, tmp_path):
    out = tmp_path / "old.lic"
    out.write_bytes(b"an older stream")
    code, _, _ = _run(capsys, "compress", files / "img.png", "-o", out, "--model", files / "tiny.safetensors")
    assert code == 0 and out.read_bytes()[:4] != b"an o"


def test_eval_and_train_check_their_outputs_before_working(files, capsys, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.png").write_bytes((files / "img.png").read_bytes())
    err = _one_error(*_run(capsys, "eval", "--data", data, "--anchors", "jpeg", "--plot", tmp_path, "--no-progress"))
    assert err == f"lic: error: cannot write {tmp_path}: it is a directory, not a regular file"
    err = _one_error(*_run(capsys, "eval", files / "tiny.safetensors", "--data", data, "--json", files / "tiny.safetensors"))
    assert err.endswith(f"it is the same file as the input {files / 'tiny.safetensors'}")
    init = files / "tiny.safetensors"
    err = _one_error(*_run(capsys, "train", "core.mbt2018-mean", "--data", data, "--lambda", "0.01", "--init", init, "--out", init))
    assert err == f"lic: error: cannot write {init}: it is the same file as the input {init}"
    out = tmp_path / "m.safetensors"
    err = _one_error(*_run(capsys, "train", "core.mbt2018-mean", "--data", data, "--lambda", "0.01", "--out", out, "--state", out))
    assert err == f"lic: error: --out and --state both name {out}: give different files"
    assert not out.exists()
    from argparse import Namespace

    from lic_core.cli.train import check_paths

    fresh = tmp_path / "runs" / "new"  # a directory training creates is fine
    check_paths(Namespace(out=str(fresh / "m.safetensors"), state=None, log=str(fresh / "m.log"), init=None, recipe="x"))
