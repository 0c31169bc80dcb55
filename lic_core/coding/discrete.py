"""Entropy coding of a latent under any discrete distribution given by its CDF.

The scale-table Gaussian (:mod:`lic_core.coding.gaussian`) codes every symbol with one of a
few hundred precomputed CDFs. A distribution with more parameters (a Gaussian mixture, a
logistic, a Laplacian with skew, ...) has no such small table: here each element gets its own
CDF, built per coding call, vectorised in torch, and coded by the project's rANS path
(:mod:`lic_core.coding.rans`) with the table built for that call.

The distribution is given by two functions of per-element parameters ``params`` (N, P):

- ``cdf(x, params) -> (n, L)``: the CDF of element ``i`` (row ``i`` of ``params``, (n, P))
  at the points ``x[i]`` (n, L); ``x`` holds half-integers ``k - 0.5`` when coding and
  ``y +- 0.5`` for the training likelihood. It must be non-decreasing in ``x``.
- ``support(params) -> (lo, hi)``: per element, the integer range ``[lo, hi]`` that gets its
  own symbols (N,) each; values outside it are coded as an **escape** symbol followed by the
  value itself (rANS bypass coding), so they cost more but are still exact.

For each element, the probability of every integer in ``[lo, hi]`` is ``cdf(k + 0.5) -
cdf(k - 0.5)``; the escape symbol gets the tail mass ``cdf(lo - 0.5) + 1 - cdf(hi + 0.5)``.
:func:`quantize_pmf` turns these into 16-bit CDF rows as CompressAI's rANS coder expects:
``L + 2`` entries from 0 to ``2**16``, every frequency at least 1 (escape included), the
last symbol being the escape; the row's ``offset`` is ``lo``. Elements are grouped by support
width (powers of two, so padding costs at most 2x), never looped over one by one, and
identical rows are coded with one table row.

**Determinism.** The decoder rebuilds every CDF from the parameters it has decoded so far, so
``params`` must be bit-identical on both sides (the same network on the same device type and
dtype, as for any learned codec) and ``cdf``/``support`` must be deterministic functions of
them. CDFs are evaluated in float32 (supports are bounded to +-2**22, where every half-integer
is exact) and quantized with integer arithmetic; ties resolve the same way on both sides.

Example (a discretized Laplacian with per-element location and scale)::

    import torch
    from lic_core.coding.discrete import DiscreteLatent

    def laplace_cdf(x, p):                     # x (n, L), p (n, 2) = (loc, scale)
        z = (x - p[:, :1]) / p[:, 1:]
        return torch.where(z < 0, 0.5 * torch.exp(z), 1 - 0.5 * torch.exp(-z))

    def laplace_support(p):                   # +-12 scales around the location
        return torch.floor(p[:, 0] - 12 * p[:, 1]), torch.ceil(p[:, 0] + 12 * p[:, 1])

    latent = DiscreteLatent(laplace_cdf, laplace_support)
    params = torch.stack([torch.zeros(1, 8, 4, 4), torch.ones(1, 8, 4, 4)], dim=-1)  # y's shape + (P,)
    y_hat, likelihoods = latent(y, params, quantizer)     # training / eval rate
    strings, y_hat = latent.compress(y, params)            # one rANS string per image
    assert torch.equal(latent.decompress(strings, params), y_hat)
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from torch import Tensor, nn

import lic_core._quiet  # noqa: F401  (before compressai)
from compressai.ops import LowerBound

from lic_core.coding import rans
from lic_core.coding.precision import full_precision
from lic_core.errors import BitstreamError
from lic_core.interfaces import Quantizer

CdfFn = Callable[[Tensor, Tensor], Tensor]
SupportFn = Callable[[Tensor], tuple[Tensor, Tensor]]

PRECISION = 16
MAX_SUPPORT = 1024
"""Default cap on the symbols of one element (wider supports are narrowed around their
middle; values beyond go through the escape symbol)."""

_CHUNK = 1 << 21  # elements x points evaluated at once (bounds memory: ~8 MB of float32 per K)


def quantize_pmf(pmf: Tensor, lengths: Tensor, precision: int = PRECISION) -> Tensor:
    """Integer CDF rows from probability rows, for rANS.

    ``pmf`` (N, W): non-negative masses, row ``i`` valid in its first ``lengths[i]`` entries
    (its symbols, escape last; the rest is ignored). Returns int32 (N, W + 1): row ``i`` starts
    at 0, has ``lengths[i]`` frequencies of at least 1 summing to ``2**precision`` and stays
    at ``2**precision`` after them. Masses are renormalised; each symbol gets 1 plus its share of
    the remaining ``2**precision - lengths[i]``, rounded down, and the rounding remainder goes
    to the row's most probable symbol (the least relative distortion).
    """
    n, w = pmf.shape
    total = 1 << precision
    if bool((lengths < 1).any()) or bool((lengths > min(w, total)).any()):
        raise ValueError(f"every row needs between 1 and {min(w, total)} symbols")
    valid = torch.arange(w, device=pmf.device) < lengths.unsqueeze(1)
    p = torch.where(valid, pmf.float(), torch.zeros((), device=pmf.device))
    if not bool(torch.isfinite(p).all()) or bool((p < 0).any()):
        raise ValueError("probabilities must be finite and non-negative")
    mass = p.sum(1, keepdim=True)
    uniform = valid.float() / lengths.unsqueeze(1).float()
    p = torch.where(mass > 0, p / mass.clamp_min(1e-30), uniform)  # an all-zero row codes uniformly
    budget = (total - lengths).unsqueeze(1)
    freq = torch.floor(p * budget.float()).long()
    remainder = budget.squeeze(1) - freq.sum(1)
    freq[torch.arange(n, device=pmf.device), p.argmax(1)] += remainder
    freq = (freq + 1) * valid
    return torch.nn.functional.pad(torch.cumsum(freq, 1), (1, 0)).int()


@dataclass
class DiscreteTable:
    """A coder table built for one call: ``table`` rows and each element's row ``indexes`` (N,)."""

    table: rans.CoderTable
    indexes: Tensor


def _bounded_support(lo: Tensor, hi: Tensor, max_support: int) -> tuple[Tensor, Tensor]:
    lo, hi = lo.float().floor(), hi.float().ceil()
    if not bool(torch.isfinite(lo).all() and torch.isfinite(hi).all()):
        raise ValueError("support bounds must be finite")
    hi = torch.maximum(hi, lo)
    wide = hi - lo + 1 > max_support
    mid = torch.floor((lo + hi) / 2)
    lo = torch.where(wide, mid - max_support // 2, lo)
    hi = torch.where(wide, lo + max_support - 1, hi)
    limit = float(2**22)  # float32 holds every half-integer point of the support exactly
    return lo.clamp(-limit, limit).long(), hi.clamp(-limit, limit).long()


@torch.no_grad()
def build_table(
    params: Tensor, cdf: CdfFn, support: SupportFn, precision: int = PRECISION, max_support: int = MAX_SUPPORT
) -> DiscreteTable:
    """The coder table of elements with parameters ``params`` (N, P) (see the module doc)."""
    if params.dim() != 2:
        raise ValueError(f"params must be (N, P), got shape {tuple(params.shape)}")
    if not 1 <= max_support < (1 << precision) - 1:
        raise ValueError(f"max_support must be in [1, {(1 << precision) - 2}], got {max_support}")
    params = params.detach().float()
    lo, hi = _bounded_support(*support(params), max_support)
    n_sym = hi - lo + 1  # symbols per element, escape excluded
    width_class = torch.ceil(torch.log2((n_sym + 1).double())).long()  # row of 2**c entries holds n + 1 symbols
    rows: list[Tensor] = []
    row_len: list[Tensor] = []
    row_off: list[Tensor] = []
    order: list[Tensor] = []
    for c in torch.unique(width_class).tolist():
        idx = torch.nonzero(width_class == c).squeeze(1)
        w = 1 << int(c)
        steps = torch.arange(w, dtype=torch.float32, device=params.device) - 0.5  # w points: w - 1 symbols
        for part in torch.split(idx, max(1, _CHUNK // w)):
            x = lo[part].float().unsqueeze(1) + steps
            c_vals = cdf(x, params[part]).float().clamp(0.0, 1.0)
            n = n_sym[part]
            inside = torch.diff(c_vals, dim=1).clamp_min(0.0)  # (n, w - 1): mass of lo .. lo + w - 2
            upper = c_vals.gather(1, n.unsqueeze(1)).squeeze(1)  # cdf(hi + 0.5)
            tail = (c_vals[:, 0] + 1.0 - upper).clamp_min(0.0)
            pmf = torch.cat([inside, torch.zeros_like(inside[:, :1])], dim=1)
            pmf.scatter_(1, n.unsqueeze(1), tail.unsqueeze(1))  # escape right after the last symbol
            rows.append(quantize_pmf(pmf, n + 1, precision))
            row_len.append(n + 2)
            row_off.append(lo[part])
            order.append(part)
    return _dedupe(rows, row_len, row_off, order, params.size(0), params.device)


_HASH = torch.randint(-(2**62), 2**62, (1 << 17,), generator=torch.Generator().manual_seed(16))


def _row_keys(rows: Tensor) -> Tensor:
    """A 64-bit key per row (integer arithmetic, wrapping: identical on every machine)."""
    coeffs = _HASH[: rows.size(1)].to(rows.device)
    return (rows.long() * coeffs).sum(1)


def _dedupe(
    rows: list[Tensor], lengths: list[Tensor], offsets: list[Tensor], order: list[Tensor], n: int, device
) -> DiscreteTable:
    """One table row per distinct (offset, length, CDF), found by a 64-bit key of the row;
    ``indexes`` maps elements to their row. Rows whose keys collided (never seen; 2**-64 per
    pair) would share the first one's CDF: a little rate, never exactness, since the decoder
    groups exactly as the encoder."""
    indexes = torch.empty(n, dtype=torch.int32, device=device)
    cdfs: list[list[int]] = []
    lens: list[int] = []
    offs: list[int] = []
    for r, ln, off, part in zip(rows, lengths, offsets, order):
        key = _row_keys(torch.cat([off.unsqueeze(1), ln.unsqueeze(1), r.long()], dim=1))
        uniq, inverse = torch.unique(key, return_inverse=True)
        first = torch.full((uniq.numel(),), r.size(0), dtype=torch.long, device=r.device)
        first.scatter_reduce_(0, inverse, torch.arange(r.size(0), device=r.device), "amin")
        keep, k_len, k_off = r[first], ln[first], off[first]
        by_len = torch.argsort(k_len, stable=True)  # rows of one length together: tolist trims them in C
        position = torch.empty_like(by_len)
        position[by_len] = torch.arange(by_len.numel(), device=by_len.device)
        indexes[part] = (position[inverse] + len(cdfs)).int()
        done = 0
        lengths_, counts = torch.unique_consecutive(k_len[by_len], return_counts=True)
        for length, count in zip(lengths_.tolist(), counts.tolist()):
            cdfs += keep[by_len[done : done + count], :length].tolist()
            done += count
        lens += k_len[by_len].tolist()
        offs += k_off[by_len].tolist()
    return DiscreteTable(rans.CoderTable(cdfs, lens, offs), indexes)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: building hundreds of thousands of small lists
    otherwise triggers full collections that cost ten times the work itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def encode(values: Tensor, params: Tensor, cdf: CdfFn, support: SupportFn, **options) -> bytes:
    """Code integer ``values`` (N,) under per-element distributions ``params`` (N, P)."""
    with _gc_paused():
        t = build_table(params, cdf, support, **options)
        return rans.encode(values.reshape(-1).long(), t.indexes, t.table)


def decode(string: bytes, params: Tensor, cdf: CdfFn, support: SupportFn, **options) -> Tensor:
    """Inverse of :func:`encode`: the (N,) integer values, as int64 on ``params``' device."""
    with _gc_paused():
        try:
            t = build_table(params, cdf, support, **options)
        except ValueError as e:  # parameters decoded from a corrupted stream (NaN, infinite)
            raise BitstreamError(f"corrupted .lic stream (entropy parameters unusable: {e})") from None
        t.table.__dict__["_rows_checked"] = True  # rows valid by construction (quantize_pmf)
        return rans.decode(string, t.indexes, t.table).long()


class DiscreteLatent(nn.Module):
    """A latent coded with a discrete distribution given by ``cdf`` and ``support`` (module doc).

    Values are integers: the codec's quantizer is called without means, ``q(y, None, "y")``,
    and the likelihood is ``cdf(y + 0.5) - cdf(y - 0.5)`` (bounded below by
    ``likelihood_bound``). ``params`` has ``y``'s shape plus a last dimension of ``P``.
    ``forward(y, params, q) -> (y_hat, likelihoods)``; ``compress(y, params) -> (strings,
    y_hat)`` with one string per image; ``decompress(strings, params) -> y_hat``.
    """

    def __init__(
        self,
        cdf: CdfFn,
        support: SupportFn,
        precision: int = PRECISION,
        max_support: int = MAX_SUPPORT,
        likelihood_bound: float = 1e-9,
    ) -> None:
        super().__init__()
        self.cdf, self.support = cdf, support
        self.options = {"precision": int(precision), "max_support": int(max_support)}
        self.likelihood_lower_bound = LowerBound(likelihood_bound)

    @staticmethod
    def _check(y_shape: torch.Size | tuple[int, ...], params: Tensor) -> None:
        if tuple(params.shape[:-1]) != tuple(y_shape):
            raise ValueError(f"params {tuple(params.shape)} must be y's shape {tuple(y_shape)} plus (P,)")

    @full_precision
    def likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        """Probability of each (integer or noisy) value: ``cdf(v + 0.5) - cdf(v - 0.5)``."""
        self._check(values.shape, params)
        v = values.reshape(-1, 1)
        c = self.cdf(torch.cat([v - 0.5, v + 0.5], dim=1), params.reshape(v.size(0), -1))
        return self.likelihood_lower_bound((c[:, 1] - c[:, 0]).reshape(values.shape))

    def forward(self, y: Tensor, params: Tensor, q: Quantizer) -> tuple[Tensor, Tensor]:
        """``(y_hat, likelihoods)``; ``y`` quantized to integers by the codec's quantizer."""
        y_rate, y_hat = q(y, None, "y")
        return y_hat, self.likelihood(y_rate, params)

    def compress(self, y: Tensor, params: Tensor) -> tuple[list[bytes], Tensor]:
        self._check(y.shape, params)
        symbols = torch.round(y)
        p = params.reshape(y.size(0), -1, params.size(-1))
        strings = [encode(symbols[i], p[i], self.cdf, self.support, **self.options) for i in range(y.size(0))]
        return strings, symbols

    def decompress(self, strings: list[bytes], params: Tensor) -> Tensor:
        if len(strings) != params.size(0):
            raise ValueError(f"got {len(strings)} strings for a batch of {params.size(0)}")
        p = params.reshape(params.size(0), -1, params.size(-1))
        out = [decode(s, p[i], self.cdf, self.support, **self.options) for i, s in enumerate(strings)]
        return torch.stack(out).reshape(params.shape[:-1]).to(params.dtype)
