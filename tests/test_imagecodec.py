"""Image files through a codec: every Pillow mode we accept, odd sizes, padding, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import lic_core
from lic_core import imageio
from lic_core.errors import LicError
from lic_core.imagecodec import compress_file, compress_image, decompress_file, decompress_image

H, W = 37, 53  # odd sizes: neither a multiple of the stride


def _rgb(h: int = H, w: int = W) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (h + w)], -1)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def _make(mode: str, path):
    rgb = Image.fromarray(_rgb())
    if mode == "RGBA":
        im = rgb.convert("RGBA")
    elif mode == "L":
        im = rgb.convert("L")
    elif mode == "1":
        im = rgb.convert("1")
    elif mode == "P":
        im = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    elif mode == "I;16":
        im = Image.fromarray((np.asarray(rgb.convert("L"), dtype=np.uint16) * 257 + 3).astype(np.uint16))
    else:
        im = rgb
    im.save(path)
    return im


# (mode written, file suffix, expected channels, bit depth, output mode, alpha dropped)
CASES = [
    ("RGB", ".png", 3, 8, "RGB", False),
    ("RGBA", ".png", 3, 8, "RGB", True),
    ("L", ".png", 1, 8, "L", False),
    ("1", ".png", 1, 8, "L", False),
    ("P", ".png", 3, 8, "RGB", False),
    ("I;16", ".png", 1, 16, "I;16", False),
    ("RGB", ".jpg", 3, 8, "RGB", False),
    ("L", ".jpg", 1, 8, "L", False),
]


@pytest.mark.parametrize("mode,suffix,channels,bits,out_mode,alpha", CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_image_files_round_trip_with_their_size_and_mode(tiny_codec, tmp_path, mode, suffix, channels, bits, out_mode, alpha):
    src = tmp_path / f"in{suffix}"
    _make(mode, src)
    x, info = imageio.read_image(src)
    assert x.shape == (1, 3, H, W) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert (info.channels, info.bit_depth, info.alpha_dropped) == (channels, bits, alpha)
    result = compress_file(tiny_codec, src, tmp_path / "x.lic")
    assert result.bytes == (tmp_path / "x.lic").stat().st_size and result.bpp == 8 * result.bytes / (H * W)
    header = decompress_file(tmp_path / "x.lic", tmp_path / "out.png", tiny_codec)
    assert (header.height, header.width, header.channels, header.bit_depth) == (H, W, channels, bits)
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (W, H) and out.mode == out_mode
    back, _ = imageio.read_image(tmp_path / "out.png")
    expected = decompress_image((tmp_path / "x.lic").read_bytes(), tiny_codec)
    step = 1 / 255 if bits == 8 else 1 / 65535
    if channels == 1:
        expected = expected.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    assert (back - expected).abs().max() <= step / 2 + 1e-6


def test_written_pixels_are_exact_for_8_and_16_bits(tmp_path):
    x = torch.rand(1, 3, 5, 7)
    imageio.write_png(x, tmp_path / "rgb.png")
    back, info = imageio.read_image(tmp_path / "rgb.png")
    assert torch.equal(back, torch.round(x * 255) / 255) and info.channels == 3
    imageio.write_png(x[:, :1].expand(-1, 3, -1, -1), tmp_path / "g16.png", channels=1, bit_depth=16)
    back, info = imageio.read_image(tmp_path / "g16.png")
    assert (info.channels, info.bit_depth) == (1, 16)
    assert (back - x[:, :1]).abs().max() <= 0.5 / 65535 + 1e-7


def test_padding_replicates_edges_and_crops_back():
    x = torch.rand(1, 3, 5, 7)
    padded, (rows, cols) = imageio.pad(x, 4)
    assert padded.shape == (1, 3, 8, 8) and (rows, cols) == (3, 1)
    assert torch.equal(padded[..., 5:, :7], x[..., 4:5, :].expand(-1, -1, 3, -1))
    assert torch.equal(padded[..., :5, 7], x[..., :, 6])
    assert torch.equal(imageio.crop(padded, 5, 7), x)
    assert imageio.pad(torch.rand(1, 3, 8, 8), 4)[1] == (0, 0)


def test_one_pixel_image(tiny_codec):
    x = torch.rand(1, 3, 1, 1)
    assert decompress_image(compress_image(tiny_codec, x), tiny_codec).shape == (1, 3, 1, 1)


def test_bad_inputs_are_one_line_errors(tiny_codec, tmp_path):
    (tmp_path / "notes.png").write_text("not an image at all")
    cases = [
        lambda: imageio.read_image(tmp_path / "notes.png"),
        lambda: imageio.read_image(tmp_path / "missing.png"),
        lambda: compress_image(tiny_codec, torch.rand(1, 3, 0, 8)),
        lambda: compress_image(tiny_codec, torch.rand(2, 3, 8, 8)),
        lambda: compress_image(tiny_codec, torch.rand(1, 4, 8, 8)),
        lambda: compress_image(tiny_codec, torch.zeros(1, 3, 8, 8, dtype=torch.uint8)),
        lambda: imageio.check_size(1, imageio.MAX_PIXELS + 1),
        lambda: decompress_file(tmp_path / "missing.lic", tmp_path / "o.png", tiny_codec),
    ]
    for case in cases:
        with pytest.raises(LicError) as info:
            case()
        assert str(info.value) and "\n" not in str(info.value)


def test_codec_without_tables_is_refused(tiny_recipe):
    with pytest.raises(LicError, match="update"):
        compress_image(lic_core.compose(tiny_recipe), torch.rand(1, 3, 8, 8))


@pytest.mark.parametrize("size", [(64, 64), (H, W)])
def test_mbt2018_mean_shaped_decoding_equals_eval_forward(size):
    """The issue's must-show: with random weights, decompress(compress(x)) is the eval-mode
    forward reconstruction (of the padded input, cropped), bit for bit."""
    recipe = lic_core.get_recipe("core.mbt2018-mean")
    recipe["transform"].update(N=16, M=24)
    recipe["entropy_model"]["N"] = 16
    torch.manual_seed(0)
    codec = lic_core.compose(recipe).eval()
    codec.update(force=True)
    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        padded, _ = imageio.pad(x, codec.stride)
        expected = imageio.crop(codec(padded)["x_hat"].clamp(0, 1), *size)
    assert torch.equal(decompress_image(compress_image(codec, x), codec), expected)
    assert codec.training is False


@pytest.mark.parametrize("exc", [TypeError("list indices must be integers or slices, not list"), KeyError("y"),
                                 AttributeError("'int' object has no attribute 'reshape'"), MemoryError()])  # fmt: skip
def test_every_decoding_failure_is_a_one_line_bitstream_error(tiny_codec, monkeypatch, exc):
    """docs/bitstream.md promises a BitstreamError for every failure, whatever the model raises."""
    from lic_core.errors import BitstreamError

    data = compress_image(tiny_codec, torch.rand(1, 3, 40, 40))

    def fail(strings, shape):
        raise exc

    monkeypatch.setattr(tiny_codec, "decompress", fail)
    with pytest.raises(BitstreamError) as info:
        decompress_image(data, tiny_codec)
    assert str(info.value).startswith("decoder drift: decoding a stream that passed its checksums failed")
    assert "\n" not in str(info.value) and type(exc).__name__ in str(info.value)


def test_new_streams_are_version_3_and_commit_to_their_image_fields(tiny_codec):
    from lic_core import bitstream
    from lic_core.imagecodec import latent_check

    data = compress_image(tiny_codec, torch.rand(1, 3, 40, 40))
    header, strings = bitstream.unpack(data)
    with torch.no_grad():
        y_hat = tiny_codec.decompress(strings, header.shape)["y_hat"]
    assert header.version == 3 and header.latent_check == header.commit(latent_check(y_hat)) != latent_check(y_hat)


def test_a_model_id_the_header_cannot_hold_is_a_one_line_error(tiny_codec, monkeypatch):
    """The id comes from a checkpoint's metadata: untrusted, so a clear error, not a ValueError."""
    monkeypatch.setattr(tiny_codec, "model_id", "[" * 300, raising=False)
    with pytest.raises(LicError, match="cannot write a .lic stream: model id longer than 255 bytes"):
        compress_image(tiny_codec, torch.rand(1, 3, 16, 16))
