"""The default codec shipped with lic-core: `lic compress` without --model, --quality, and
`lic decompress` finding the model from the stream's header."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lic_core import bitstream, zoo
from lic_core.cli.main import main


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A smooth, photo-like RGB image (gradients, a few edges and mild noise)."""
    root = tmp_path_factory.mktemp("default")
    h, w = 72, 104
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    rgb = np.stack([0.5 + 0.4 * np.sin(6 * xx + 2 * yy), 0.4 + 0.3 * np.cos(4 * yy), 0.3 + 0.5 * xx * yy], -1)
    rgb[20:40, 30:60] *= 0.5
    rgb += np.random.default_rng(0).normal(0, 0.02, rgb.shape)
    Image.fromarray((rgb.clip(0, 1) * 255).round().astype(np.uint8)).save(root / "photo.png")
    return root


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_core_ships_a_ladder_of_eight_rate_points_within_48_mb():
    steps = zoo.ladder()
    assert len(steps) >= 8 and [m.quality for m in steps] == list(range(1, len(steps) + 1))
    assert all(m.path().is_file() for m in steps), "run examples/zoo/train_default_codec.sh (docs/zoo.md)"
    files = {m.path() for m in zoo.list_models() if m.path().is_file()}
    files |= {p for f in files for p in f.parent.glob("tables-*.safetensors")}  # shared coder tables
    assert sum(p.stat().st_size for p in files) <= 48 * 10**6  # docs/zoo.md states the budget


def test_compress_without_model_uses_the_default_quality_and_decompress_finds_it(photo, capsys):
    code, out, err = _run(capsys, "compress", photo / "photo.png", "-o", photo / "photo.lic")
    assert code == 0, err
    middle = zoo.model_for_quality().id
    assert f"with {middle}" in out
    header, _ = bitstream.unpack((photo / "photo.lic").read_bytes())
    assert header.model_id == middle
    code, out, err = _run(capsys, "decompress", photo / "photo.lic", "-o", photo / "photo.out.png")
    assert code == 0, err
    with Image.open(photo / "photo.out.png") as a, Image.open(photo / "photo.png") as b:
        assert a.size == b.size
        error = np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)).mean()
    assert error < 20  # a trained codec: close to the input, not a garbage image


def test_quality_orders_the_rate_and_bad_quality_is_a_one_line_error(photo, capsys):
    sizes = []
    for q in (1, len(zoo.ladder())):
        code, _, err = _run(capsys, "compress", photo / "photo.png", "-o", photo / f"q{q}.lic", "--quality", q)
        assert code == 0, err
        sizes.append((photo / f"q{q}.lic").stat().st_size)
    assert sizes[0] < sizes[1]
    code, _, err = _run(capsys, "compress", photo / "photo.png", "-o", photo / "bad.lic", "--quality", 99)
    assert code == 1 and "--quality must be one of" in err and err.count("\n") == 1
    assert not (photo / "bad.lic").exists()


FIXTURES = Path(__file__).parent / "fixtures" / "streams"


@pytest.mark.parametrize("model_id", ["core.lite-q1", "core.lite-q3"])
def test_streams_written_before_the_decoder_speed_work_decode_to_the_same_latents(model_id):
    """Streams committed before issue #29's changes (tests/fixtures/streams) still decode, to
    bit-identical latents; the pixels may move by at most 1/255 (channels-last synthesis)."""
    import hashlib
    import json

    import torch

    from lic_core.coding.table_coder import legacy_rans
    from lic_core.imagecodec import decode

    record = json.loads((FIXTURES / "kodim23-128x96.json").read_text())["streams"][model_id]
    codec = zoo.load_model(model_id)
    data = (FIXTURES / record["stream"]).read_bytes()
    x_hat, header = decode(data, codec)  # raises on a latent check mismatch
    _, strings = bitstream.unpack(data)
    with torch.inference_mode(), legacy_rans():  # version 1: CompressAI rANS strings
        y_hat = codec.decompress(strings, header.shape)["y_hat"]
    symbols = torch.round(y_hat).to(torch.int32).numpy().astype("<i4")
    assert hashlib.sha256(symbols.tobytes()).hexdigest() == record["latent_sha256"]
    ours = (x_hat[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy().astype(int)
    with Image.open(FIXTURES / record["decoded"]) as im:
        before = np.asarray(im, dtype=int)
    assert ours.shape == before.shape and np.abs(ours - before).max() <= 1
    with Image.open(FIXTURES / "kodim23-128x96.png") as im:
        source = np.asarray(im.convert("RGB"), dtype=float)
    psnr = 10 * np.log10(255**2 / ((ours - source) ** 2).mean())
    assert abs(psnr - record["psnr_rgb8"]) < 0.05


def test_entropy_parameters_are_computed_on_one_thread_whatever_the_callers_count():
    """Scales and means must not depend on the thread count (else a stream encoded with 2
    threads can fail to decode with 1); the caller's count is restored."""
    import torch

    from lic_core.coding.one_thread import caller_threads

    codec = zoo.load_model("core.lite-q1")
    seen = []
    synthesis = codec.entropy_model.side.hyper.synthesis
    synthesis.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.inference_mode():
            enc = codec.compress(torch.rand(1, 3, 64, 64))
            codec.decompress(enc["strings"], enc["shape"])
        assert seen == [1, 1] and torch.get_num_threads() == 2
        with torch.inference_mode(), caller_threads():  # how streams of earlier multi-threaded encoders are retried
            codec.decompress(enc["strings"], enc["shape"])
        assert seen[-1] == 2
    finally:
        torch.set_num_threads(before)


def test_rescaling_the_latent_changes_only_its_quantization():
    """examples/zoo/rescale_latent.py (how q5-q8 start): without rounding the rescaled codec
    reconstructs what the source does, its latent and entropy parameters are ``gain`` times
    larger, and with rounding it spends more bits for less distortion."""
    import importlib.util

    import torch

    import lic_core

    spec = importlib.util.spec_from_file_location("rescale_latent", Path(__file__).parents[1] / "examples/zoo/rescale_latent.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    a, b = zoo.load_model("core.lite-q1"), zoo.load_model("core.lite-q1")
    module.rescale(b, 2.0)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ya, yb = a.transform.analysis(x), b.transform.analysis(x)
        assert torch.allclose(yb, 2 * ya, rtol=1e-4, atol=1e-5)
        assert torch.allclose(b.transform.synthesis(yb), a.transform.synthesis(ya), atol=1e-5)
        side = a.entropy_model.side.hyper.analysis(ya)
        assert torch.allclose(b.entropy_model.side.hyper.analysis(yb), side, atol=1e-4)
        assert torch.allclose(b.entropy_model.side.hyper.synthesis(side), 2 * a.entropy_model.side.hyper.synthesis(side), atol=1e-4)
    ra, rb = (len(lic_core.compress_image(c, x)) for c in (a, b))
    assert rb > ra
