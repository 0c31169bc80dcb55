"""``.lic`` format version 3: CompressAI's table semantics coded with constriction's ANS
(lic_core/coding/ans.py), old streams still decoded with CompressAI's rANS."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
import torch

from lic_core import bitstream, zoo
from lic_core.coding import ans, rans
from lic_core.coding.rans import CoderTable
from lic_core.coding.table_coder import legacy_rans, using_legacy_rans
from lic_core.errors import BitstreamError, CheckpointError, LicError
from lic_core.imagecodec import compress_image, decode

FIXTURES = Path(__file__).parent / "fixtures" / "streams"
V2 = json.loads((FIXTURES / "kodim23-128x96.v2.json").read_text())["streams"]


def _random_table(rng: random.Random, rows: int = 12) -> CoderTable:
    """Rows of CompressAI's form: 16-bit CDFs of 3 to 40 entries (the last symbol the escape), offsets <= 0."""
    cdfs, lengths, offsets = [], [], []
    for _ in range(rows):
        n = rng.randrange(3, 41)
        cuts = sorted(rng.sample(range(1, 1 << 16), n - 2))
        cdfs.append([0, *cuts, 1 << 16] + [0] * rng.randrange(3))  # padded like CompressAI's table
        lengths.append(n)
        offsets.append(-rng.randrange(0, n - 2))
    return CoderTable(cdfs, lengths, offsets)


@pytest.mark.parametrize("seed", range(6))
def test_round_trip_with_escapes_on_random_tables(seed):
    rng = random.Random(seed)
    table = _random_table(rng)
    n = rng.choice((1, 7, 500, 5000))
    indexes = torch.tensor([rng.randrange(len(table.cdfs)) for _ in range(n)], dtype=torch.int32)
    symbols = []
    for r in indexes.tolist():
        lo, hi = table.offsets[r], table.offsets[r] + table.lengths[r] - 3
        roll = rng.random()
        symbols.append(rng.randint(lo, hi) if roll < 0.9 else rng.choice((lo - 1, hi + 1, -(2**24), 2**24, lo - 700, hi + 99999)))
    symbols = torch.tensor(symbols, dtype=torch.int32).reshape(1, -1) if n > 1 else torch.tensor(symbols, dtype=torch.int32)
    indexes = indexes.reshape(symbols.shape)
    string = ans.encode(symbols, indexes, table)
    assert len(string) % 4 == 0
    out = ans.decode(string, indexes, table)
    assert out.dtype == torch.int32 and out.shape == symbols.shape and torch.equal(out, symbols)


def test_rows_whose_only_symbol_is_the_escape_and_empty_inputs():
    table = CoderTable([[0, 65536], [0, 30000, 65536, 0]], [2, 3], [0, 0])
    symbols = torch.tensor([0, 5, -3, 0, 1, -1], dtype=torch.int32)
    indexes = torch.tensor([0, 0, 0, 1, 1, 1], dtype=torch.int32)
    assert torch.equal(ans.decode(ans.encode(symbols, indexes, table), indexes, table), symbols)
    empty = torch.zeros(0, dtype=torch.int32)
    assert ans.encode(empty, empty, table) == b""
    assert ans.decode(b"", empty, table).numel() == 0


def test_encoder_refuses_what_a_corrupt_model_gives_it():
    table = _random_table(random.Random(1))
    with pytest.raises(LicError, match="cannot entropy-code"):
        ans.encode(torch.tensor([0]), torch.tensor([len(table.cdfs)]), table)
    with pytest.raises(LicError, match="cannot entropy-code"):
        ans.encode(torch.tensor([2**30]), torch.tensor([0]), table)
    with pytest.raises(CheckpointError, match="corrupt coder table"):
        ans.encode(torch.tensor([0]), torch.tensor([0]), CoderTable([[0, 5, 5, 65536]], [4], [0]))


def test_hostile_strings_are_errors_or_clean_decodes():
    """Truncated, odd-length, extended, bit-flipped and random strings: a BitstreamError or
    symbols of the right shape and range, never a crash, a hang or a huge allocation."""
    rng = random.Random(7)
    table = _random_table(rng)
    n = 3000
    indexes = torch.tensor([rng.randrange(len(table.cdfs)) for _ in range(n)], dtype=torch.int32)
    symbols = torch.tensor([table.offsets[r] + rng.randrange(table.lengths[r] - 1) for r in indexes.tolist()], dtype=torch.int32)
    symbols[::97] = 12345  # escapes
    good = ans.encode(symbols, indexes, table)
    words = len(good) // 4
    cases = [good[:0], good[:4], good[: 4 * (words // 2)], good[:-4], good[:-1], good + b"\x01", good + b"\x01\0\0\0",
             good + good, b"\0" * len(good), b"\xff" * len(good), bytes(rng.randrange(256) for _ in range(4 * words))]
    for _ in range(200):
        flipped = bytearray(good)
        flipped[rng.randrange(len(good))] ^= 1 << rng.randrange(8)
        cases.append(bytes(flipped))
    for _ in range(50):
        cases.append(bytes(rng.randrange(256) for _ in range(4 * rng.randrange(0, 3 * words))))
    errors = 0
    for string in cases:
        try:
            out = ans.decode(string, indexes, table)
        except BitstreamError as e:
            errors += 1
            assert str(e).startswith(("corrupted .lic stream (", "decoder drift: ")) and "\n" not in str(e)
            continue
        assert out.shape == indexes.shape and out.dtype == torch.int32
        assert int(out.abs().max()) <= 1 << 24
    assert errors >= 10
    with pytest.raises(BitstreamError, match="entropy parameters outside"):
        ans.decode(good, indexes + len(table.cdfs), table)


@pytest.fixture(scope="module")
def crop():
    return FIXTURES / "kodim23-128x96.png"


@pytest.mark.parametrize("model_id", sorted(V2))
def test_version_2_fixtures_decode_to_the_same_pixels(model_id):
    """Streams written before format 3 (tests/fixtures/streams/*.v2.lic) decode through the
    legacy rANS path to the same latents and bit-identical pixels."""
    record = V2[model_id]
    data = (FIXTURES / record["stream"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == record["stream_sha256"]
    codec = zoo.load_model(model_id)
    x_hat, header = decode(data, codec)
    assert header.version == 2 and not using_legacy_rans()
    pixels = (x_hat[0].permute(1, 2, 0) * 255).round().to(torch.uint8).contiguous().numpy()
    assert hashlib.sha256(pixels.tobytes()).hexdigest() == record["pixels_rgb8_sha256"]
    _, strings = bitstream.unpack(data)
    with torch.inference_mode(), legacy_rans():
        y_hat = codec.decompress(strings, header.shape)["y_hat"]
    symbols = torch.round(y_hat).to(torch.int32).numpy().astype("<i4")
    assert hashlib.sha256(symbols.tobytes()).hexdigest() == record["latent_sha256"]


@pytest.mark.parametrize("model_id", sorted(V2))
def test_shipped_model_round_trip_through_version_3(model_id, crop):
    """A v3 stream decodes to exactly the latents and pixels of the v2 stream of the same image
    (the transform and entropy parameters did not change, only the coder), at the same size
    within a few words."""
    codec = zoo.load_model(model_id)
    data = compress_image(codec, crop)
    header, strings = bitstream.unpack(data)
    assert header.version == bitstream.VERSION == 3
    x_hat, _ = decode(data, codec)
    pixels = (x_hat[0].permute(1, 2, 0) * 255).round().to(torch.uint8).contiguous().numpy()
    assert hashlib.sha256(pixels.tobytes()).hexdigest() == V2[model_id]["pixels_rgb8_sha256"]
    assert abs(len(data) - V2[model_id]["bytes"]) <= 8
    with legacy_rans():  # the legacy encoder writes version 2, byte for byte what it wrote before
        old = compress_image(codec, crop)
    assert bitstream.unpack(old)[0].version == 2
    assert hashlib.sha256(old).hexdigest() == V2[model_id]["stream_sha256"]


def test_version_3_size_is_within_half_a_percent_of_version_2():
    """On a whole Kodak image (the escapes, side-bit + 31 bits here, are too rare to matter)."""
    kodak = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak" / "kodim23.png"
    if not kodak.is_file():
        pytest.skip("../shared/data/kodak is not present")
    codec = zoo.load_model("core.lite-q1")
    v3 = compress_image(codec, kodak)
    with legacy_rans():
        v2 = compress_image(codec, kodak)
    assert abs(len(v3) / len(v2) - 1) <= 0.005
    x3, _ = decode(v3, codec)
    x2, _ = decode(v2, codec)
    assert torch.equal(x3, x2)


def test_hostile_payloads_in_a_version_3_stream(crop):
    """Rewritten strings with valid checksums: a one-line BitstreamError or the original image."""
    codec = zoo.load_model("core.lite-q1")
    data = compress_image(codec, crop)
    reference, header = decode(data, codec)
    _, strings = bitstream.unpack(data)
    rng = random.Random(3)
    for which in (0, 1):
        old = strings[which][0]
        variants = [old[:-4], old[:-1], old + b"\0\0\0\x01", old[:4], b"", bytes(len(old)), b"\xff" * len(old)]
        for _ in range(8):
            flipped = bytearray(old)
            flipped[rng.randrange(len(old))] ^= 1 << rng.randrange(8)
            variants.append(bytes(flipped))
        for string in variants:
            crafted = [list(s) for s in strings]
            crafted[which][0] = string
            stream = bitstream.pack(header, crafted)
            try:
                x_hat, _ = decode(stream, codec)
            except BitstreamError as e:
                assert "\n" not in str(e)
            else:
                assert torch.equal(x_hat, reference)


def test_legacy_rans_is_scoped_and_dispatches():
    table = _random_table(random.Random(2))
    indexes = torch.arange(12, dtype=torch.int32)
    symbols = torch.tensor(table.offsets, dtype=torch.int32)
    from lic_core.coding import table_coder

    assert table_coder.encode(symbols, indexes, table) == ans.encode(symbols, indexes, table)
    with legacy_rans():
        assert using_legacy_rans()
        assert table_coder.encode(symbols, indexes, table) == rans.encode(symbols, indexes, table)
        with legacy_rans(False):
            assert not using_legacy_rans()
        assert using_legacy_rans()
    assert not using_legacy_rans()


def test_tables_with_built_models_can_be_copied_and_pickled():
    """A codec that has coded is deep-copied (cross-device checks, gpu_check): the cached
    constriction models are not copied but rebuilt."""
    import copy
    import pickle

    table = _random_table(random.Random(4))
    indexes = torch.arange(12, dtype=torch.int32)
    symbols = torch.tensor(table.offsets, dtype=torch.int32)
    string = ans.encode(symbols, indexes, table)
    for other in (copy.deepcopy(table), copy.copy(table), pickle.loads(pickle.dumps(table))):
        assert torch.equal(ans.decode(string, indexes, other), symbols)
    codec = zoo.load_model("core.lite-q1")
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        enc = codec.compress(x)
    twin = copy.deepcopy(codec)
    with torch.inference_mode():
        assert torch.equal(twin.decompress(enc["strings"], enc["shape"])["x_hat"], codec.decompress(enc["strings"], enc["shape"])["x_hat"])
