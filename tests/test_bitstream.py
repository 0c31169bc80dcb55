"""The .lic container: round trip, overhead, and one clear error for every kind of bad stream."""

from __future__ import annotations

import pytest
import torch

import lic_core
from lic_core import bitstream
from lic_core.bitstream import Header
from lic_core.checkpoint import weights_digest
from lic_core.errors import BitstreamError
from lic_core.imagecodec import compress_image, decompress_image

STRINGS = [[b"\x01\x02\x03"], [b"", b"zz"], [[b"deep"]]]
TINY = {"transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}
HEADER = Header(b"abcd", b"wxyz", 0xDEADBEEF, 37, 53, 1, 16, (27, 11), (4, 4), "core.default-q3")


def _one_line_error(data: bytes, codec=None) -> str:
    with pytest.raises(BitstreamError) as info:
        decompress_image(data, codec) if codec is not None else bitstream.unpack(data)
    message = str(info.value)
    assert message and "\n" not in message
    return message


def test_pack_unpack_round_trip_keeps_header_and_nesting():
    data = bitstream.pack(HEADER, STRINGS)
    header, strings = bitstream.unpack(data)
    assert strings == STRINGS
    assert header == HEADER and header.size == len(data) - 4 - sum(map(len, [b"\x01\x02\x03", b"zz", b"deep"]))
    plain = Header(b"abcd", b"wxyz", 1, 64, 64)
    assert bitstream.unpack(bitstream.pack(plain, STRINGS))[0].model_id is None


def test_container_round_trip_equals_codec_decompress(tiny_codec):
    x = torch.rand(1, 3, 64, 64)
    data = compress_image(tiny_codec, x)
    with torch.no_grad():
        enc = tiny_codec.compress(x)
        direct = tiny_codec.decompress(enc["strings"], enc["shape"])["x_hat"]
    header, strings = bitstream.unpack(data)
    assert strings == enc["strings"] and header.shape == tuple(enc["shape"])
    assert torch.equal(decompress_image(data, tiny_codec), direct)
    assert bitstream.overhead(header, strings) <= 48


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    codec = lic_core.compose(TINY).eval()
    codec.update(force=True)
    return codec


@pytest.fixture(scope="module")
def stream(codec) -> bytes:
    torch.manual_seed(3)
    return compress_image(codec, torch.rand(1, 3, 40, 72))


def test_empty_wrong_magic_and_unknown_version(stream):
    assert "empty" in _one_line_error(b"")
    assert "magic" in _one_line_error(b"\x89PNG\r\n\x1a\n" + stream[8:])
    assert "version 9" in _one_line_error(stream[:3] + b"\x09" + stream[4:])


@pytest.mark.parametrize("keep", [1, 2, 3, 4, 10, 20, -40, -5, -1])
def test_truncated_streams(stream, keep):
    message = _one_line_error(stream[:keep])
    assert "truncated" in message


def test_altered_payload_byte(stream, codec):
    altered = bytearray(stream)
    altered[-6] ^= 0x10
    assert "payload checksum" in _one_line_error(bytes(altered))
    assert "payload checksum" in _one_line_error(bytes(altered), codec)


def test_every_altered_header_byte_is_refused(stream):
    size = bitstream.unpack(stream)[0].size
    for i in range(size):
        for bit in (0x01, 0x80):
            altered = bytearray(stream)
            altered[i] ^= bit
            _one_line_error(bytes(altered))


def test_trailing_bytes_are_refused(stream):
    assert "unexpected" in _one_line_error(stream + b"\0")


def test_stream_from_other_weights_or_recipe(stream, tiny_recipe):
    torch.manual_seed(123)
    other = lic_core.compose(tiny_recipe).eval()
    other.update(force=True)
    assert "other weights" in _one_line_error(stream, other)
    tiny_recipe["entropy_model"]["mode"] = "scale"
    scale = lic_core.compose(tiny_recipe).eval()
    scale.update(force=True)
    assert "another recipe" in _one_line_error(stream, scale)


def test_decoder_drift_is_reported_not_decoded(stream, tiny_codec):
    assert decompress_image(stream, tiny_codec).shape == (1, 3, 40, 72)  # the same weights: decodes
    """A decoder whose hyper synthesis computes other entropy parameters (as on a machine
    with other floating-point results) must refuse, not output garbage."""
    header, strings = bitstream.unpack(stream)
    with torch.no_grad():
        last = tiny_codec.entropy_model.side.hyper.synthesis[-1]
        last.bias.add_(0.3)
    # the same weights digest as the decoder's: only the drift check can catch it
    forged = bitstream.pack(
        Header(header.recipe_digest, weights_digest(tiny_codec), header.latent_check, header.height,
               header.width, pad=header.pad, shape=header.shape),
        strings,
    )  # fmt: skip
    assert "decoder drift" in _one_line_error(forged, tiny_codec)
