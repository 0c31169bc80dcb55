"""The ``.lic`` container: a small header, the entropy-coded strings, and checksums.

Layout of format versions 1, 2 and 3 (all integers are unsigned LEB128 varints unless sized;
docs/bitstream.md has the full table)::

    "LIC" | version u8 | flags u8 | recipe digest 4B | weights digest 4B | latent check u32 LE
    | height | width | channels | bit depth | pad bottom | pad right
    | ndim | latent shape dims... | stream tree | [model id length | model id utf-8]
    | header CRC32 u32 LE | payload (the strings, concatenated) | payload CRC32 u32 LE

The stream tree mirrors the nesting of the codec's ``strings`` (a list per stream, a
``bytes`` per image): a list of ``n`` items is written ``2n+1``, a string of ``L`` bytes ``2L``.
Version 2 has the same layout; its latent check also commits to the image fields
(:meth:`Header.commit`), so a rewritten size, padding, channel count or bit depth fails the
decoder's check even when the header CRC is recomputed. Version 3 (what this lic-core
writes) has version 2's layout and latent check; only the payload's coder changed: the
strings of lic's table coders (the Gaussian conditional and the factorized bottleneck) are
constriction's ANS (:mod:`lic_core.coding.ans`, constriction pinned to 0.5.0: its
probability quantization is part of the stream) instead of CompressAI's rANS. Versions 1 and
2 are still read, through the rANS path (:func:`lic_core.coding.table_coder.legacy_rans`);
version-1 image fields are only checked for consistency.
Nothing here needs torch: :func:`pack` and :func:`unpack` work on bytes.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Sequence

from lic_core.errors import BitstreamError

MAGIC = b"LIC"
VERSION = 3  # written
VERSIONS = (1, 2, 3)  # read
ANS_VERSION = 3  # first version whose table-coded strings are constriction ANS (older: CompressAI rANS)
DIGEST_BYTES = 4
FLAG_MODEL_ID = 0x01
KNOWN_FLAGS = FLAG_MODEL_ID
MAX_DEPTH = 8  # nesting of the stream tree
MAX_LEAVES = 1 << 16
MAX_MODEL_ID = 255

Strings = Any  # nested lists of bytes, as returned by ``Codec.compress``


@dataclass(frozen=True)
class Header:
    """What a ``.lic`` stream says about itself besides its strings."""

    recipe_digest: bytes
    weights_digest: bytes
    latent_check: int  # as stored: see :meth:`commit`
    height: int
    width: int
    channels: int = 3
    bit_depth: int = 8
    pad: tuple[int, int] = (0, 0)  # rows added at the bottom, columns at the right
    shape: tuple[int, ...] = ()  # the latent shape given to ``Codec.decompress``
    model_id: str | None = None
    version: int = VERSION
    size: int = field(default=0, compare=False)  # header bytes (set by unpack)

    def image_fields(self) -> bytes:
        """The fields that shape the output image (size, channels, bit depth, padding, latent shape)."""
        values = (self.height, self.width, self.channels, self.bit_depth, *self.pad, len(self.shape), *self.shape)
        return b"".join(_varint(int(n)) for n in values)

    def commit(self, symbols_crc: int) -> int:
        """The latent check this header's version stores for latents whose CRC32 is ``symbols_crc``:
        version 1 the CRC itself, versions 2 and 3 the CRC continued over :meth:`image_fields`."""
        return symbols_crc if self.version == 1 else zlib.crc32(self.image_fields(), symbols_crc)

    def check_model(self, recipe_digest: bytes, weights_digest: bytes) -> None:
        """Refuse to decode with a model other than the encoder's."""
        if self.recipe_digest != recipe_digest[:DIGEST_BYTES]:
            raise BitstreamError(
                f"stream was made by another recipe (recipe digest {self.recipe_digest.hex()}, "
                f"this model's is {recipe_digest[:DIGEST_BYTES].hex()})"
            )
        if self.weights_digest != weights_digest[:DIGEST_BYTES]:
            raise BitstreamError(
                f"stream was made by other weights (weights digest {self.weights_digest.hex()}, "
                f"this model's is {weights_digest[:DIGEST_BYTES].hex()}): decode it with the encoder's checkpoint"
            )


# -- varints ------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    if n < 0:
        raise ValueError(f"varints are unsigned, got {n}")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise _Truncated
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def varint(self) -> int:
        value = shift = 0
        for _ in range(10):
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise BitstreamError("corrupted .lic header (a varint is longer than 10 bytes)")


# -- the stream tree ----------------------------------------------------------------------
def _write_tree(node: Strings, out: bytearray, leaves: list[bytes], depth: int = 0) -> None:
    if isinstance(node, (bytes, bytearray)):
        out += _varint(2 * len(node))
        leaves.append(bytes(node))
    elif isinstance(node, (list, tuple)) and depth < MAX_DEPTH:
        out += _varint(2 * len(node) + 1)
        for item in node:
            _write_tree(item, out, leaves, depth + 1)
    else:
        raise ValueError(f"strings must be nested lists of bytes (depth <= {MAX_DEPTH}), got {type(node).__name__}")


def _read_tree(r: _Reader, lengths: list[int], depth: int = 0) -> Any:
    code = r.varint()
    if code % 2 == 0:
        if len(lengths) >= MAX_LEAVES:
            raise BitstreamError("corrupted .lic header (too many streams)")
        lengths.append(code // 2)
        return len(lengths) - 1  # a placeholder: index of the leaf
    if depth >= MAX_DEPTH:
        raise BitstreamError("corrupted .lic header (streams nested too deeply)")
    return [_read_tree(r, lengths, depth + 1) for _ in range(code // 2)]


def _fill(node: Any, leaves: list[bytes]) -> Strings:
    if isinstance(node, int):
        return leaves[node]
    return [_fill(item, leaves) for item in node]


def _u32(n: int) -> bytes:
    return int(n & 0xFFFFFFFF).to_bytes(4, "little")


# -- pack / unpack ------------------------------------------------------------------------
def pack(header: Header, strings: Strings) -> bytes:
    """The ``.lic`` bytes for ``strings`` (as returned by ``Codec.compress``) and ``header``."""
    for name, value in (("height", header.height), ("width", header.width)):
        if value < 1:
            raise ValueError(f"image {name} must be at least 1, got {value}")
    if header.channels not in (1, 3) or header.bit_depth not in (8, 16):
        raise ValueError(f"channels must be 1 or 3 and bit depth 8 or 16, got {header.channels}, {header.bit_depth}")
    if header.version not in VERSIONS:
        raise ValueError(f"format version must be one of {VERSIONS}, got {header.version}")
    flags = 0
    model_id = (header.model_id or "").encode()
    if model_id:
        if len(model_id) > MAX_MODEL_ID:
            raise ValueError(f"model id longer than {MAX_MODEL_ID} bytes: {header.model_id!r}")
        flags |= FLAG_MODEL_ID
    out = bytearray(MAGIC)
    out += bytes((header.version, flags))
    out += header.recipe_digest[:DIGEST_BYTES].ljust(DIGEST_BYTES, b"\0")
    out += header.weights_digest[:DIGEST_BYTES].ljust(DIGEST_BYTES, b"\0")
    out += _u32(header.latent_check)
    out += header.image_fields()
    leaves: list[bytes] = []
    _write_tree(strings, out, leaves)
    if model_id:
        out += _varint(len(model_id)) + model_id
    out += _u32(zlib.crc32(out))
    payload = b"".join(leaves)
    return bytes(out) + payload + _u32(zlib.crc32(payload))


def unpack(data: bytes) -> tuple[Header, Strings]:
    """Parse and verify a ``.lic`` stream; a one-line :class:`BitstreamError` if it is not sound."""
    data = bytes(data)
    if not data:
        raise BitstreamError("empty file: not a .lic stream")
    if data[: len(MAGIC)] != MAGIC:
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            raise BitstreamError(f"truncated .lic stream ({len(data)} bytes)")
        raise BitstreamError("not a .lic stream (wrong magic bytes)")
    if len(data) == len(MAGIC):
        raise BitstreamError(f"truncated .lic stream ({len(data)} bytes)")
    version = data[3]
    if version not in VERSIONS:
        raise BitstreamError(f"unknown .lic format version {version} (this lic-core reads versions {', '.join(map(str, VERSIONS[:-1]))} and {VERSIONS[-1]})")
    r = _Reader(data, 4)
    try:
        flags = r.take(1)[0]
        recipe_d, weights_d = r.take(DIGEST_BYTES), r.take(DIGEST_BYTES)
        check = int.from_bytes(r.take(4), "little")
        height, width, channels, bit_depth, pad_b, pad_r, ndim = [r.varint() for _ in range(7)]
        if ndim > 8:
            raise BitstreamError("corrupted .lic header (latent shape has too many dimensions)")
        shape = tuple(r.varint() for _ in range(ndim))
        lengths: list[int] = []
        tree = _read_tree(r, lengths)
        model_id = r.take(r.varint()) if flags & FLAG_MODEL_ID else b""
        header_end = r.pos
        stored_crc = int.from_bytes(r.take(4), "little")
    except _Truncated:
        raise BitstreamError(f"truncated .lic stream (cut inside its header, {len(data)} bytes)") from None
    if zlib.crc32(data[:header_end]) != stored_crc:
        raise BitstreamError("altered .lic stream: header checksum mismatch")
    if flags & ~KNOWN_FLAGS:
        raise BitstreamError(f"unknown .lic header flags 0x{flags:02x} (written by a newer lic-core?)")
    if height < 1 or width < 1 or channels not in (1, 3) or bit_depth not in (8, 16):
        raise BitstreamError(f"invalid .lic header (image {height}x{width}, {channels} channels, {bit_depth} bits)")
    expected = r.pos + sum(lengths) + 4
    if len(data) < expected:
        raise BitstreamError(f"truncated .lic stream ({len(data)} bytes, its header announces {expected})")
    if len(data) > expected:
        raise BitstreamError(f"altered .lic stream: {len(data) - expected} unexpected bytes after its end")
    payload = data[r.pos : expected - 4]
    if zlib.crc32(payload) != int.from_bytes(data[expected - 4 :], "little"):
        raise BitstreamError("altered .lic stream: payload checksum mismatch")
    leaves, pos = [], 0
    for n in lengths:
        leaves.append(payload[pos : pos + n])
        pos += n
    try:
        model = model_id.decode() or None
    except UnicodeDecodeError:
        raise BitstreamError("invalid .lic header (model id is not UTF-8)") from None
    header = Header(
        recipe_d, weights_d, check, height, width, channels, bit_depth, (pad_b, pad_r), shape, model, version, header_end + 4
    )
    return header, _fill(tree, leaves)


def overhead(header: Header, strings: Strings) -> int:
    """Bytes a stream spends besides its entropy-coded strings."""
    return len(pack(header, strings)) - sum(len(s) for s in _leaves(strings))


def _leaves(node: Strings) -> Sequence[bytes]:
    if isinstance(node, (bytes, bytearray)):
        return [node]
    return [leaf for item in node for leaf in _leaves(item)]
