"""Hostile and unusual image files: EXIF orientation applied, multi-frame files refused,
float and 32-bit integer images converted exactly or refused (never clipped), and sizes
checked from the header before any pixel is decoded."""

from __future__ import annotations

import re
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from lic_core.errors import LicError
from lic_core.imageio import MAX_PIXELS, read_image

RNG = np.random.default_rng(0)


def _rgb(h: int = 4, w: int = 6) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _as_array(x: torch.Tensor) -> np.ndarray:
    return np.round(x[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)


@pytest.mark.parametrize("orientation,turn", [(1, lambda a: a), (3, lambda a: np.rot90(a, 2)), (6, lambda a: np.rot90(a, -1)),
                                              (8, lambda a: np.rot90(a, 1)), (2, lambda a: a[:, ::-1])])  # fmt: skip
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_exif_orientation_is_applied_as_viewers_show_it(tmp_path, orientation, turn, suffix):
    pixels = _rgb()
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(pixels).save(path, exif=exif)
    x, info = read_image(path)
    expected = turn(pixels)
    assert (info.height, info.width) == expected.shape[:2]
    assert np.array_equal(_as_array(x), expected)


def test_a_malformed_exif_block_is_ignored_or_a_clear_error(tmp_path, recwarn):
    path = tmp_path / "odd.png"
    Image.fromarray(_rgb()).save(path, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff garbage")
    try:
        x, _ = read_image(path)
        assert not recwarn.list  # Pillow's multi-line warning would break lic's one-line errors
    except LicError as exc:
        assert str(exc).startswith(f"cannot read image {path}")
    else:
        assert x.shape == (1, 3, 4, 6)


def _frames(n: int) -> list[Image.Image]:
    return [Image.fromarray(_rgb()) for _ in range(n)]


@pytest.mark.parametrize("suffix,options", [(".gif", {}), (".png", {}), (".tif", {}), (".webp", {"lossless": True})])
def test_files_with_several_frames_are_refused(tmp_path, suffix, options):
    path = tmp_path / f"anim{suffix}"
    first, *rest = _frames(3)
    first.save(path, save_all=True, append_images=rest, **options)
    with pytest.raises(LicError, match=re.escape(f"image {path} has 3 frames (an animation or a multi-page file): "
                                                 "lic codes single images, extract one frame first")):  # fmt: skip
        read_image(path)


def test_a_single_frame_gif_is_coded(tmp_path):
    path = tmp_path / "still.gif"
    _frames(1)[0].convert("P").save(path)
    x, info = read_image(path)
    assert x.shape == (1, 3, 4, 6) and info.channels == 3


def test_a_float_tiff_in_0_1_is_kept_exactly(tmp_path):
    values = RNG.random((5, 7), dtype=np.float32)
    values[0, 0], values[-1, -1] = 0.0, 1.0
    Image.fromarray(values, mode="F").save(tmp_path / "f.tif")
    x, info = read_image(tmp_path / "f.tif")
    assert (info.channels, info.bit_depth) == (1, 16)
    assert torch.equal(x[0, 0], torch.from_numpy(values)) and torch.equal(x[0, 1], x[0, 2])
    assert x.mean() > 0.3  # not black


@pytest.mark.parametrize("bad,message", [
    (np.float32(255.0), r"a floating-point image with values in \[0, 255\]: lic codes floating-point images with values in \[0, 1\]"),
    (np.float32(-0.5), r"a floating-point image with values in \[-0.5, .*\]"),
    (np.float32(np.nan), "a floating-point image with NaN or infinite values"),
    (np.float32(np.inf), "a floating-point image with NaN or infinite values"),
])  # fmt: skip
def test_a_float_tiff_outside_0_1_is_refused(tmp_path, bad, message):
    values = RNG.random((5, 7), dtype=np.float32)
    values[0, 0], values[2, 3] = 0.0, bad
    Image.fromarray(values, mode="F").save(tmp_path / "f.tif")
    with pytest.raises(LicError, match=f"^image {re.escape(str(tmp_path / 'f.tif'))} is {message}"):
        read_image(tmp_path / "f.tif")


def test_a_32_bit_tiff_within_16_bits_is_coded_as_16_bits(tmp_path):
    values = RNG.integers(0, 65536, (5, 7), dtype=np.int32)
    values[0, 0] = 65535
    Image.fromarray(values).save(tmp_path / "i.tif")
    x, info = read_image(tmp_path / "i.tif")
    assert (info.channels, info.bit_depth) == (1, 16)
    assert torch.allclose(x[0, 0].double(), torch.from_numpy(values / 65535.0), atol=1e-7)


@pytest.mark.parametrize("bad", [65536, 1 << 31 - 1, -1])
def test_a_32_bit_tiff_beyond_16_bits_is_refused_not_clipped(tmp_path, bad):
    values = RNG.integers(0, 65536, (5, 7), dtype=np.int32)
    values[1, 1] = bad
    Image.fromarray(values).save(tmp_path / "i.tif")
    low, high = min(int(values.min()), bad), max(int(values.max()), bad)
    with pytest.raises(LicError, match=re.escape(f"is a 32-bit integer image with values in [{low}, {high}]: lic codes 8- and 16-bit images")):
        read_image(tmp_path / "i.tif")


def _png_declaring(width: int, height: int) -> bytes:
    """A valid PNG signature and header declaring ``width`` x ``height``, with one tiny data chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (1 << 30, 1), (9000, 8000)])
def test_a_huge_declared_size_is_refused_before_decoding(tmp_path, monkeypatch, width, height):
    assert width * height > MAX_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_declaring(width, height))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # lic's own limit must hold without Pillow's

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    with pytest.raises(LicError, match=re.escape(f"image {path} is {width}x{height}: larger than the 64 Mpixel limit")):
        read_image(path)


def test_an_mpo_codes_its_primary_image(tmp_path):
    primary, preview = _rgb(), _rgb()
    path = tmp_path / "camera.mpo"
    Image.fromarray(primary).save(path, format="MPO", save_all=True, append_images=[Image.fromarray(preview)], quality=100)
    with Image.open(path) as im:
        assert im.format == "MPO" and im.n_frames == 2
        expected = np.asarray(im.convert("RGB"))
    x, _ = read_image(path)
    assert np.array_equal(_as_array(x), expected)


def test_pillows_own_bomb_limit_gives_the_same_kind_of_line(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_declaring(100_000, 100_000))
    with pytest.raises(LicError, match=re.escape(f"image {path} is larger than the 64 Mpixel limit (Pillow: Image size (10000000000 pixels)")):
        read_image(path)
