"""CompressAI's table semantics coded with constriction's ANS: the payload of ``.lic`` format 3.

Same tables and call signatures as :mod:`lic_core.coding.rans` (``encode(symbols, indexes,
table) -> bytes``, ``decode(string, indexes, table) -> Tensor``), same meaning of a table
row ``r`` as in CompressAI's ``rans_interface.cpp``: a symbol's ``value = symbol - offsets[r]``;
the row's CDF has ``lengths[r]`` entries rising from 0 to 2^16, so symbol ``k`` has frequency
``cdf[k + 1] - cdf[k]``; ``lengths[r] - 2`` is the *escape* symbol, coded for values outside
``[0, lengths[r] - 2)`` and followed by the value (:mod:`lic_core.coding.escapes`: a side bit,
above or below, and 31 bits of distance).

Coding (constriction 0.5.0, ``constriction.stream.stack.AnsCoder``: 32-bit words, 24-bit
probabilities): each used row becomes a fixed ``Categorical(freq / 65536, perfect=False)``
model, built once per table (tables are resident, :mod:`lic_core.coding.resident`); constriction
quantizes its probabilities to 24 bits, deterministically, and that quantization is part of the
stream (hence the exact version pin). Symbols are grouped by row (a stable sort of ``indexes``)
and each group is coded with one call. ANS is a stack: the encoder pushes the escapes (in
grouped order) first, then the groups from the last row to the first; the decoder pops the
groups in row order, scatters them back to their positions, then pops the escapes.

**Stream**: the coder's words, little-endian (possibly a single word, or none for no
symbols). The decoder refuses (:class:`BitstreamError`) a string that is not whole words or
ends in a zero word (``corrupted .lic stream``), and data left over after the last symbol or
decoded values the encoder cannot have coded (beyond ``bounded.MAX_VALUE``): with checksums
that passed, those mean the entropy parameters differ from the encoder's (or a crafted
string), so they are reported like the latent check's failure, as ``decoder drift``.
Work and memory are bounded by the number of symbols (given by the header, not the string):
a hostile string decodes to other symbols or an error, never a crash or a hang.
"""

from __future__ import annotations

import constriction
import numpy as np
import torch
from torch import Tensor

from lic_core.coding import bounded, escapes
from lic_core.coding.rans import CoderTable
from lic_core.errors import BitstreamError, LicError

PRECISION = 1 << 16  # CompressAI's CDF total
_MISMATCH = ("decoder drift: an entropy-coded string does not decode under these entropy parameters ({}): the "
             "stream was altered, or the parameters were computed differently than the encoder's")


class _ModelCache(dict):
    """Row -> model. constriction's models cannot be pickled or copied: a copied or pickled
    table (``copy.deepcopy`` of a codec) starts with an empty cache and rebuilds its models."""

    def __copy__(self) -> "_ModelCache":
        return _ModelCache()

    def __deepcopy__(self, memo: dict) -> "_ModelCache":
        return _ModelCache()

    def __reduce_ex__(self, protocol: object) -> tuple:
        return (_ModelCache, ())


def _models(table: CoderTable, rows: list[int]) -> list:
    """The fixed ``Categorical`` model of each of ``rows`` (``None`` for a row whose only symbol
    is the escape: it costs nothing and is not coded), built once per row and table."""
    cache = table.__dict__.get("_ans_models")
    if cache is None:
        cache = table.__dict__["_ans_models"] = _ModelCache()
    out = []
    for r in rows:
        model = cache.get(r)
        if model is None:
            n = table.lengths[r]
            if n <= 2:
                model = False
            else:
                cdf = np.asarray(table.cdfs[r][:n], dtype=np.float64)
                model = constriction.stream.model.Categorical(np.diff(cdf) / PRECISION, perfect=False)
            cache[r] = model
        out.append(model or None)
    return out


def _groups(flat: Tensor) -> tuple[Tensor, list[int], list[int]]:
    """The stable order that groups ``flat`` row indexes, the rows in that order, their counts."""
    order = torch.argsort(flat, stable=True)
    rows, counts = torch.unique_consecutive(flat[order], return_counts=True)
    return order, rows.tolist(), counts.tolist()


def encode(symbols: Tensor, indexes: Tensor, table: CoderTable) -> bytes:
    """Entropy-code integer ``symbols`` (any shape) with per-symbol table rows ``indexes``."""
    bounded.check_table(table)
    n = symbols.numel()
    if indexes.numel() != n:
        raise ValueError(f"{n} symbols for {indexes.numel()} indexes")
    if not n:
        return b""
    flat = indexes.reshape(-1).to("cpu", torch.long)
    sym = symbols.reshape(-1).to("cpu", torch.long)
    if int(flat.min()) < 0 or int(flat.max()) >= len(table.cdfs) or int(sym.abs().max()) > bounded.MAX_VALUE:
        raise LicError("cannot entropy-code these latents (entropy parameters or latent values out of range): "
                       "the model's weights are corrupt or unsuited to this image")
    offsets, top = bounded.row_tensors(table)
    order, rows, counts = _groups(flat)
    value, top = (sym - offsets[flat])[order], top[flat][order]
    escaped = (value < 0) | (value >= top)
    coded = torch.where(escaped, top, value).to(torch.int32).numpy()
    coder = constriction.stream.stack.AnsCoder()
    if bool(escaped.any()):  # popped after every group
        v, t = value[escaped], top[escaped]
        above = v >= t
        escapes.push(coder, above, torch.where(above, v - t, -v - 1))  # |v| <= 2^25: far below escapes.LIMIT
    ends = np.cumsum(counts).tolist()
    for model, end, count in zip(reversed(_models(table, rows)), reversed(ends), reversed(counts)):
        if model is not None:
            coder.encode_reverse(coded[end - count : end], model)
    return coder.get_compressed().astype("<u4").tobytes()


def decode(string: bytes, indexes: Tensor, table: CoderTable) -> Tensor:
    """Inverse of :func:`encode`: int32 symbols shaped like ``indexes`` (on its device)."""
    bounded.check_table(table)
    bounded.check_indexes(indexes, len(table.cdfs))
    n = indexes.numel()
    if n > bounded.MAX_SYMBOLS:
        raise BitstreamError(f"corrupted .lic stream ({n} symbols in one string)")
    if len(string) % 4:
        raise BitstreamError(f"corrupted .lic stream (an entropy-coded string of {len(string)} bytes, not whole 32-bit words)")
    flat = indexes.reshape(-1).to("cpu", torch.long)
    out = torch.zeros(n, dtype=torch.long)
    try:
        coder = constriction.stream.stack.AnsCoder(np.frombuffer(bytes(string), dtype="<u4").astype(np.uint32))
        if n:
            offsets, top = bounded.row_tensors(table)
            order, rows, counts = _groups(flat)
            parts = [
                coder.decode(model, count) if model is not None else np.zeros(count, dtype=np.int32)
                for model, count in zip(_models(table, rows), counts)
            ]
            value = torch.from_numpy(np.concatenate(parts).astype(np.int64))
            t = top[flat][order]
            escaped = value == t
            above, distance = escapes.pop(coder, int(escaped.sum()))
            if above.numel():
                te = t[escaped]
                value[escaped] = torch.where(above, te + distance, -distance - 1)
            out[order] = value + offsets[flat][order]
        left = not coder.is_empty()
    except ValueError as e:  # constriction's own checks of the data (e.g. a final zero word)
        raise BitstreamError(f"corrupted .lic stream ({' '.join(str(e).split())})") from None
    if left:
        raise BitstreamError(_MISMATCH.format("data left over after every symbol was decoded"))
    if n and int(out.abs().max()) > bounded.MAX_VALUE:
        raise BitstreamError(_MISMATCH.format("a decoded symbol beyond what the encoder codes"))
    return out.to(torch.int32).reshape(indexes.shape).to(indexes.device)
