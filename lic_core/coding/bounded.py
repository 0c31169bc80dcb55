"""CompressAI's rANS decoder made unable to read outside its buffer, whatever the string holds
(and its encoder unable to loop forever or write past its buffer, whatever the model gives it).

``RansDecoder.decode_with_indexes`` (CompressAI's C++ ``rans_interface.cpp``) reads 32-bit
words through a raw pointer with no end check: two at initialisation, at most one per symbol
when renormalising, and in the bypass ("escape") branch one per 4-bit group when its state
runs low. The bypass loop ``while (val == 15) n_bypass += val`` is unbounded, and a crafted
string can make it count far beyond the 8 groups an int32 needs, so a short string can drive
the pointer megabytes past its end (a signal, or garbage read from the heap).

:func:`decode` checks what the coder trusts (string length, table rows, indexes) and decodes
from a copy of the string followed by a pad of :func:`pad_words` words ``0x80000000``, sized
by the worst case the C++ loop can reach for ``n`` symbols and a ``w``-word string:

- every primitive operation (renormalising advance, bypass ``GetBits``) reads at most one
  word; the string itself supplies at most ``w``;
- once a pad word is read the state is at least ``2^31`` (bit 31 of the pad) and stays so, so
  after a read inside a run of ``GetBits`` the state is at least ``2^59``: the next 7 calls do
  not read. A symbol's run of ``g`` calls reads at most ``1 + g/8`` pad words;
- the count loop continues only on 4-bit groups equal to 15; the state holds at most 16 of
  them, a pad word none (its low group is 0) and a string word 8: ``c <= 17 + 8 b`` calls,
  ``b`` string words read in it (``sum b <= w``); the raw loop runs ``n_bypass <= 15 c`` calls;
- so ``g <= 16 c <= 272 + 128 b`` and the pad reads are at most ``1 + 36 n + 16 w``.

CompressAI's encoder writes whole words and at least two (its flushed state), so a genuine
string decodes exactly as before; a crafted one decodes to garbage symbols inside the pad,
which the caller's latent check turns into a :class:`~lic_core.errors.BitstreamError`.

The encoder (``RansEncoder.encode_with_indexes``) loops forever on values near 2^31 and
writes into a buffer of one word per symbol without a check: :func:`check_encodable` refuses
latents that would do either (they come from corrupt models), counting the words exactly by
replaying its loop when a quick bound cannot rule it out.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor

import lic_core._quiet  # noqa: F401
from compressai.ans import RansDecoder

from lic_core.errors import BitstreamError, CheckpointError, LicError

PRECISION = 1 << 16  # CompressAI's CDF total
PAD_WORD = (0x80000000).to_bytes(4, "little")
MAX_SYMBOLS = 1 << 28  # more than a 64-Mpixel image's latents in one string
MAX_VALUE = 1 << 24  # |symbol| and |offset| bound; the C++ encoder loops forever near 2^31
_CACHE_BYTES = 64 << 20  # pads up to this size are cut from one kept buffer
_pad_cache = b""


def pad_words(symbols: int, words: int) -> int:
    """Words after a ``words``-word string that the decoder can reach for ``symbols`` symbols."""
    return 36 * symbols + 16 * words + 8


def check_rows(cdfs: Sequence[Sequence[int]], lengths: Sequence[int], offsets: Sequence[int]) -> None:
    """Each CDF row as the C++ coder assumes it: starts at 0, strictly increasing, ends at 2^16.

    A row that breaks this makes the symbol search run past the row (and the encoder divide by
    zero); it is the model's fault, not the stream's, hence a :class:`CheckpointError`.
    """
    if not len(cdfs) == len(lengths) == len(offsets):
        raise CheckpointError(f"corrupt coder table ({len(cdfs)} CDF rows, {len(lengths)} lengths, {len(offsets)} offsets)")
    for i, (row, n) in enumerate(zip(cdfs, lengths)):
        if not 2 <= n <= len(row) or row[0] != 0 or row[n - 1] != PRECISION:
            raise CheckpointError(f"corrupt coder table (CDF row {i} does not run from 0 to {PRECISION})")
        if any(b <= a for a, b in zip(row[: n - 1], row[1:n])):
            raise CheckpointError(f"corrupt coder table (CDF row {i} is not strictly increasing)")
    if any(abs(o) > MAX_VALUE for o in offsets):
        raise CheckpointError(f"corrupt coder table (an offset beyond +-{MAX_VALUE})")


def check_table(table: Any) -> None:
    """:func:`check_rows` on a coder table (``cdfs``, ``lengths``, ``offsets``), once per object."""
    if not table.__dict__.get("_rows_checked"):
        check_rows(table.cdfs, table.lengths, table.offsets)
        table.__dict__["_rows_checked"] = True


def check_encodable(symbols: Tensor, indexes: Tensor, table: Any) -> None:
    """What the C++ encoder needs: existing table rows; symbols far from the int32 range (its
    escape loop never ends on values near 2^31); and no more output than its buffer of one
    32-bit word per symbol, which it writes past otherwise (a symbol costs at most 16 bits plus,
    when escaped, 4 per 4-bit group of its value and count). Latents that break this come
    from a corrupt model (huge or NaN weights): a :class:`LicError`, not a hang or a heap
    overwrite."""
    n = symbols.numel()
    if not n:
        return
    rows = len(table.cdfs)
    if int(indexes.min()) < 0 or int(indexes.max()) >= rows or int(symbols.long().abs().max()) > MAX_VALUE:
        raise LicError("cannot entropy-code these latents (entropy parameters or latent values out of range): "
                       "the model's weights are corrupt or unsuited to this image")
    offsets, last = row_tensors(table)
    flat = indexes.reshape(-1).long().cpu()
    value = symbols.reshape(-1).long().cpu() - offsets[flat]
    top = last[flat]  # the escape symbol: values outside [0, top) are escaped
    raw = torch.where(value < 0, -2 * value - 1, torch.where(value >= top, 2 * (value - top), -1))
    escaped = raw >= 0
    if n >= 2 and not bool(escaped.any()):  # at most 16 bits a symbol: fits (one symbol never does)
        return
    groups = sum((raw >= 16**k).long() for k in range(8))[escaped]  # 4-bit groups of each escaped value
    bits = 16 * n + int((4 * (groups + groups // 15 + 1)).sum())  # at most 16 bits per coded symbol
    if 3 + bits // 32 <= n:
        return
    if n > _EXACT_LIMIT or _output_words(symbols, flat, table) > n:  # the bound is loose: count exactly
        raise LicError(f"cannot entropy-code these latents ({n} symbols need more output than CompressAI's "
                       "encoder holds): the model's weights are corrupt or unsuited to this image")


_EXACT_LIMIT = 1 << 14
_L = 1 << 31  # RANS64_L


def _output_words(symbols: Tensor, indexes: Tensor, table: Any) -> int:
    """The 32-bit words CompressAI's ``encode_with_indexes`` writes for these symbols (its
    loop replayed: escapes, renormalisation, the two-word flush)."""
    x, words = _L, 2

    def put(x: int, start: int, freq: int, bits: int) -> tuple[int, int]:
        emitted = 0
        if x >= ((_L >> bits) << 32) * freq:
            x, emitted = x >> 32, 1
        return ((x // freq) << bits) + (x % freq) + start, emitted

    for v, r in zip(reversed(symbols.reshape(-1).tolist()), reversed(indexes.tolist())):
        cdf, top = table.cdfs[r], table.lengths[r] - 2
        value = v - table.offsets[r]
        if value < 0 or value >= top:
            raw = -2 * value - 1 if value < 0 else 2 * (value - top)
            groups = 0
            while raw >> (4 * groups):
                groups += 1
            nibbles = [(raw >> (4 * j)) & 15 for j in range(groups - 1, -1, -1)]
            nibbles += [15] * (groups // 15) + [groups % 15]
            for val in nibbles:
                x, e = put(x, val, 1, 4)
                words += e
            value = top
        x, e = put(x, cdf[value], cdf[value + 1] - cdf[value], 16)
        words += e
    return words


def row_tensors(table: Any) -> tuple[Tensor, Tensor]:
    """The table's offsets and escape-symbol positions (length - 2) as tensors, once per object."""
    cached = table.__dict__.get("_row_tensors")
    if cached is None:
        cached = (torch.tensor(table.offsets, dtype=torch.long), torch.tensor(table.lengths, dtype=torch.long) - 2)
        table.__dict__["_row_tensors"] = cached
    return cached


def check_indexes(indexes: Tensor, rows: int) -> None:
    """Table rows the symbols use must exist (entropy parameters decoded from garbage can be NaN)."""
    if indexes.numel() and (int(indexes.min()) < 0 or int(indexes.max()) >= rows):
        raise BitstreamError(f"corrupted .lic stream (entropy parameters outside the model's {rows} coder tables)")


def decode(
    string: bytes,
    indexes: Sequence[int],
    cdfs: Sequence[Sequence[int]],
    lengths: Sequence[int],
    offsets: Sequence[int],
) -> list[int]:
    """``RansDecoder().decode_with_indexes`` on a padded copy: never reads outside it.

    ``indexes`` must already be valid rows of ``cdfs`` (the caller's table); a string that
    CompressAI's encoder cannot have written (not whole words, shorter than its flushed state)
    and symbol counts beyond :data:`MAX_SYMBOLS` get a :class:`BitstreamError`.
    """
    n = len(indexes)
    if n > MAX_SYMBOLS:
        raise BitstreamError(f"corrupted .lic stream ({n} symbols in one string)")
    if len(string) % 4 or len(string) < 8:
        raise BitstreamError(f"corrupted .lic stream (an entropy-coded string of {len(string)} bytes)")
    padded = _padded(bytes(string), pad_words(n, len(string) // 4))
    return RansDecoder().decode_with_indexes(padded, list(indexes), cdfs, list(lengths), list(offsets))


def _padded(string: bytes, words: int) -> bytes:
    """``string`` followed by ``words`` pad words, in one copy (the pad is cut from a kept one)."""
    global _pad_cache
    size = 4 * words
    if size > len(_pad_cache):
        pad = PAD_WORD * words
        if size <= _CACHE_BYTES:
            _pad_cache = pad
        return b"".join((string, pad))
    return b"".join((string, memoryview(_pad_cache)[:size]))
