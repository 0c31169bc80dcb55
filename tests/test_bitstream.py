"""The .lic container: round trip, overhead, and one clear error for every kind of bad stream."""

from __future__ import annotations

import pytest
import torch

import lic_core
from lic_core import bitstream
from lic_core.bitstream import Header
from lic_core.checkpoint import weights_digest
from lic_core.errors import BitstreamError, LicError
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


# -- hostile headers and payloads with valid checksums (issue #27) ---------------------------
def _rewritten(stream: bytes, **changes) -> bytes:
    """``stream`` with fields changed and both checksums recomputed (what an attacker can do)."""
    from lic_core.testing.fuzz import StreamFields

    f = StreamFields.parse(stream)
    for name, value in changes.items():
        setattr(f, name, value)
    return f.build()


@pytest.mark.parametrize("dims", [(256, 256), (1024, 1024), (200, 200), (8, 4), (4, 9), (2**31, 1)])
def test_latent_shape_rewrite_is_refused_before_decoding(stream, codec, dims):
    message = _one_line_error(_rewritten(stream, dims=list(dims)), codec)
    assert message.startswith("invalid .lic header (latent shape") and "this model codes a 72x40 image with 4x8 latents" in message


@pytest.mark.parametrize(
    "image, expected",
    [
        ([40, 72, 3, 8, 24 + 64, 56], "padding"),  # padding of more than a stride
        ([40, 72, 3, 8, 0, 56], "padding"),
        ([60000, 60000, 3, 8, 0, 0], "Mpixel limit"),
        ([0, 72, 3, 8, 24, 56], "invalid .lic header"),
        ([40, 72, 2, 8, 24, 56], "invalid .lic header"),
    ],
)
def test_image_field_rewrites_inconsistent_with_the_model(stream, codec, image, expected):
    assert expected in _one_line_error(_rewritten(stream, image=image), codec)


@pytest.mark.parametrize(
    "image",
    [
        [40, 72, 1, 8, 24, 56],  # channels 3 -> 1 (would write a gray image)
        [40, 72, 3, 16, 24, 56],  # bit depth 8 -> 16
        [39, 72, 3, 8, 25, 56],  # height moved into the padding (would write a crop)
        [40, 70, 3, 8, 24, 58],
    ],
)
def test_consistent_image_field_rewrites_fail_the_committed_check(stream, codec, image):
    """Format version 2 commits the latent check to the image fields: a rewrite that fits the
    model still cannot change the output silently."""
    message = _one_line_error(_rewritten(stream, image=image), codec)
    assert message.startswith("decoder drift: the decoded latents or image fields differ")


def test_version_1_and_2_streams_still_decode(stream, codec):
    """Versions 1 and 2 hold CompressAI rANS strings (what the encoder writes inside
    ``legacy_rans``); they decode to the same image as version 3's ANS strings."""
    from lic_core.coding.table_coder import legacy_rans
    from lic_core.imagecodec import decode, latent_check
    from lic_core.testing.fuzz import with_version

    x_hat, header = decode(stream, codec)
    assert header.version == bitstream.VERSION == 3
    torch.manual_seed(3)
    with legacy_rans():
        v2 = compress_image(codec, torch.rand(1, 3, 40, 72))  # the image of ``stream``
    assert bitstream.unpack(v2)[1] != bitstream.unpack(stream)[1]  # other coder, other strings
    x_v2, header_v2 = decode(v2, codec)
    assert header_v2.version == 2 and torch.equal(x_v2, x_hat)
    header, strings = bitstream.unpack(v2)
    with torch.no_grad(), legacy_rans():
        y_hat = codec.decompress(strings, header.shape)["y_hat"]
    old = with_version(v2, 1, latent_check(y_hat))
    x_old, header_old = decode(old, codec)
    assert header_old.version == 1 and torch.equal(x_old, x_hat)
    assert "decoder drift" in _one_line_error(with_version(v2, 1, latent_check(y_hat) ^ 1), codec)
    _one_line_error(with_version(stream, 2, latent_check(y_hat)), codec)  # ANS strings read as rANS: refused


@pytest.mark.parametrize("how", ["flatten", "wrap", "string-for-list", "split", "drop", "extra"])
def test_renested_stream_tree_is_a_one_line_error(stream, codec, how):
    strings = bitstream.unpack(stream)[1]
    y, z = strings
    renested = {
        "flatten": [y[0], z[0]],
        "wrap": [strings],
        "string-for-list": [y[0], z],
        "split": [[y[0][:4], y[0][4:]], z],
        "drop": [y],
        "extra": [y, z, [b""]],
    }[how]
    message = _one_line_error(_rewritten(stream, strings=renested), codec)
    assert "stream tree" in message and len(message) < 200


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("fill", [b"\xff", b"\x00", b"\x80", b"random", b"odd", b"short"])
def test_crafted_payload_with_valid_checksums(stream, codec, fill, which):
    """A rewritten string gets a one-line error, or (where the decoder never reads the bytes
    that changed) decodes to exactly the original image; never another image."""
    import random

    strings = bitstream.unpack(stream)[1]
    old = strings[which][0]
    strings[which][0] = {
        b"random": bytes(random.Random(0).randrange(256) for _ in range(len(old))),
        b"odd": old + b"\x01",
        b"short": old[:4],
    }.get(fill, fill * len(old))
    crafted = _rewritten(stream, strings=strings)
    try:
        assert torch.equal(decompress_image(crafted, codec), decompress_image(stream, codec))
    except BitstreamError as exc:
        assert str(exc).startswith(("decoder drift", "corrupted .lic stream")) and "\n" not in str(exc)
    if fill == b"odd":  # (a one-word string is a valid ANS string: "short" may decode, to the same image)
        assert "corrupted .lic stream" in _one_line_error(crafted, codec)


# -- the bounded rANS decoder ------------------------------------------------------------------
def _emulate(words: list[int], indexes, cdfs, lengths, offsets) -> tuple[list[int], int]:
    """CompressAI's ``decode_with_indexes`` in Python (rans64 with 4-bit bypass), reading
    ``words`` (which must be long enough); returns the symbols and how many words it read."""
    pos, low, mask64 = 2, 1 << 31, (1 << 64) - 1
    x = words[0] | words[1] << 32

    def get_bits(x: int, pos: int) -> tuple[int, int, int]:
        val, x = x & 15, x >> 4
        if x < low:
            x, pos = ((x << 32) | words[pos]) & mask64, pos + 1
        return val, x, pos

    out = []
    for i in indexes:
        cdf, max_value = cdfs[i], lengths[i] - 2
        cum = x & 0xFFFF
        s = next(k for k in range(lengths[i]) if cdf[k] > cum) - 1
        x = (((cdf[s + 1] - cdf[s]) * (x >> 16) + cum - cdf[s])) & mask64
        if x < low:
            x, pos = ((x << 32) | words[pos]) & mask64, pos + 1
        value = s
        if value == max_value:
            val, x, pos = get_bits(x, pos)
            n = val
            while val == 15:
                val, x, pos = get_bits(x, pos)
                n += val
            raw = 0
            for j in range(n):
                val, x, pos = get_bits(x, pos)
                raw |= val << ((j * 4) & 31)
            raw &= 0xFFFFFFFF
            raw = raw - (1 << 32) if raw >= 1 << 31 else raw
            value = -(raw >> 1) - 1 if raw & 1 else (raw >> 1) + max_value
        out.append(value + offsets[i])
    return out, pos


def _tables():
    """Two small CDF rows: one with a likely escape (bypass) symbol, one nearly certain."""
    cdfs = [[0, 100, 200, 65536], [0, 65530, 65533, 65535, 65536]]
    return cdfs, [len(c) for c in cdfs], [-1, -2]


def test_bounded_decoder_reads_within_its_pad_for_crafted_strings():
    """The worst case :func:`bounded.pad_words` covers holds for strings built to drive the
    bypass loop (words of ones), random words and zeros, decoding many symbols from few words;
    :func:`bounded.decode` refuses them (not what the encoder writes) instead of crashing."""
    import random
    import struct

    from compressai.ans import RansDecoder

    from lic_core.coding import bounded

    cdfs, lengths, offsets = _tables()
    rng = random.Random(0)
    for trial in range(60):
        w = rng.choice((2, 3, 8, 40))
        words = [rng.choice((0xFFFFFFFF, 0, rng.getrandbits(32), 0xF0FFFFFF)) for _ in range(w)]
        if trial % 3 == 0:
            words = [0xFFFFFFFF] * w
        n = rng.choice((1, 10, 300))
        indexes = [rng.choice((0, 0, 1)) for _ in range(n)]
        limit = w + bounded.pad_words(n, w)
        pad = [int.from_bytes(bounded.PAD_WORD, "little")] * limit
        expected, read = _emulate(words + pad, indexes, cdfs, lengths, offsets)
        assert read <= limit
        string = struct.pack(f"<{w}I", *words)
        padded = bounded._padded(string, bounded.pad_words(n, w))
        assert RansDecoder().decode_with_indexes(padded, indexes, cdfs, lengths, offsets) == expected
        assert bounded.decode(string, indexes, cdfs, lengths, offsets) == expected


def test_bounded_decoder_matches_compressai_on_genuine_strings():
    import struct

    from compressai.ans import RansDecoder, RansEncoder

    from lic_core.coding import bounded

    cdfs, lengths, offsets = _tables()
    symbols = [-1, 0, 1, 40, -30, -1, 2, -2] * 50
    indexes = [0, 0, 0, 0, 0, 1, 1, 1] * 50
    string = RansEncoder().encode_with_indexes(symbols, indexes, cdfs, lengths, offsets)
    decoded = bounded.decode(string, indexes, cdfs, lengths, offsets)
    assert decoded == symbols == RansDecoder().decode_with_indexes(string, indexes, cdfs, lengths, offsets)
    words = list(struct.unpack(f"<{len(string) // 4}I", string))
    assert _emulate(words, indexes, cdfs, lengths, offsets) == (symbols, len(words))  # reads exactly its words


@pytest.mark.parametrize("string", [b"", b"\x01" * 4, b"\x01" * 9, b"\x01" * 15])
def test_bounded_decoder_refuses_strings_its_encoder_cannot_write(string):
    from lic_core.coding import bounded

    cdfs, lengths, offsets = _tables()
    with pytest.raises(BitstreamError, match="entropy-coded string"):
        bounded.decode(string, [0, 1], cdfs, lengths, offsets)


@pytest.mark.parametrize(
    "cdfs", [[[0, 0, 0, 0]], [[0, 100, 50, 65536]], [[0, 100, 200, 65535]], [[1, 100, 65536]], [[0]]]
)
def test_corrupt_coder_tables_are_checkpoint_errors(cdfs):
    from lic_core.coding import bounded
    from lic_core.errors import CheckpointError

    with pytest.raises(CheckpointError, match="corrupt coder table"):
        bounded.check_rows(cdfs, [len(c) for c in cdfs], [0] * len(cdfs))


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"dims": [256, 256]}, "lic: error: invalid .lic header (latent shape 256x256; this model codes a 72x40 image with 4x8 latents)"),
        ({"image": [40, 72, 1, 8, 24, 56]}, "lic: error: decoder drift: the decoded latents or image fields differ"),
        ({"strings": "flat"}, "lic: error: invalid .lic header (its stream tree is not the one this model writes)"),
    ],
)
def test_cli_decompress_of_rewritten_streams_exits_1_with_one_line(stream, codec, tmp_path, capsys, change, expected):
    """The issue's cases through ``lic decompress --model``: exit 1, one line, no image written."""
    from lic_core.cli.main import main

    codec.save(tmp_path / "model.safetensors")
    if change.get("strings") == "flat":
        change = {"strings": [leaf for group in bitstream.unpack(stream)[1] for leaf in group]}
    (tmp_path / "s.lic").write_bytes(_rewritten(stream, **change))
    code = main(["decompress", str(tmp_path / "s.lic"), "-o", str(tmp_path / "s.png"), "--model", str(tmp_path / "model.safetensors")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith(expected) and "\n" not in err
    assert not (tmp_path / "s.png").exists()


def test_encoder_refuses_latents_it_would_write_past_its_buffer():
    """CompressAI's encoder has one 32-bit word of output per symbol; values of 2^20 escaped
    from a row whose escape symbol costs 16 bits need 44 bits each, so a corrupt model's
    latents get a LicError, not a heap overwrite (nor, near 2^31, an endless escape loop)."""
    from lic_core.coding import rans

    cdfs, lengths, offsets = _tables()
    table = rans.CoderTable(cdfs, lengths, offsets)
    indexes = torch.ones(50, dtype=torch.int32)  # row 1: its escape symbol costs 16 bits
    for value in (2**20, -(2**20), 2**31 - 1):
        with pytest.raises(LicError, match="cannot entropy-code these latents"):
            rans.encode(torch.full((50,), value, dtype=torch.int32), indexes, table)
    with pytest.raises(LicError, match="cannot entropy-code"):  # its two-word flush never fits one word
        rans.encode(torch.zeros(1, dtype=torch.int32), indexes[:1], table)
    symbols = torch.tensor([0, 1, -1, 40, -30] * 10, dtype=torch.int32)  # a few escapes: fine
    assert torch.equal(rans.decode(rans.encode(symbols, indexes, table), indexes, table), symbols)


def test_encoder_output_count_matches_compressai():
    """The guard's replay of CompressAI's encoder counts exactly the words it writes (checked
    where that fits its buffer; beyond, the encoder itself would write past it)."""
    import random

    from compressai.ans import RansEncoder

    from lic_core.coding import bounded, rans

    cdfs, lengths, offsets = _tables()
    table = rans.CoderTable(cdfs, lengths, offsets)
    rng = random.Random(0)
    for _ in range(100):
        n = rng.choice((2, 3, 20, 200))
        indexes = torch.tensor([rng.randrange(2) for _ in range(n)], dtype=torch.int32)
        symbols = torch.tensor([rng.choice((0, 1, -1, 5, -300, 4000)) for _ in range(n)], dtype=torch.int32)
        counted = bounded._output_words(symbols, indexes.long(), table)
        if counted <= n:  # only then is CompressAI's encoder safe to call
            encoded = RansEncoder().encode_with_indexes(symbols.tolist(), indexes.tolist(), cdfs, lengths, offsets)
            assert counted == len(encoded) // 4
