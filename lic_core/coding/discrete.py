"""Entropy coding of a latent under any discrete distribution given by its CDF.

The scale-table Gaussian (:mod:`lic_core.coding.gaussian`) codes every symbol with one of a
few hundred precomputed CDFs. A distribution with more parameters (a Gaussian mixture, a
logistic, a Laplacian with skew, ...) has no such small table: here each element gets its own
probability row, built per coding call, vectorised in torch, and coded by constriction's ANS
coder (``constriction.stream.stack.AnsCoder`` with a ``Categorical`` model parameterised per
symbol), which takes the rows as one numpy array: no per-element Python objects.

The distribution is given by two functions of per-element parameters ``params`` (N, P):

- ``cdf(x, params) -> (n, L)``: the CDF of element ``i`` (row ``i`` of ``params``, (n, P))
  at the points ``x[i]`` (n, L); ``x`` holds half-integers ``k - 0.5`` when coding and
  ``y +- 0.5`` for the training likelihood. It must be non-decreasing in ``x``.
- ``support(params) -> (lo, hi)``: per element, the integer range ``[lo, hi]`` that gets its
  own symbols (N,) each; values outside it are coded as an **escape** symbol followed by the
  value itself (:mod:`lic_core.coding.escapes`: a side bit and 31 bits), so they cost more but
  are still exact.

Elements are grouped by support width, rounded up to at most 1/4 more symbols (so the rows of
a group are one rectangle and the CDF is evaluated at ``width`` points per element); a group's
extra symbols get their real mass. Row ``i`` holds the mass ``cdf(k + 0.5) - cdf(k - 0.5)`` of
every integer ``k`` of ``[lo, lo + width - 2]`` and, last, the escape symbol's tail mass
``cdf(lo - 0.5) + 1 - cdf(lo + width - 1.5)``; constriction quantizes each row to its 24-bit
fixed point (every symbol at least the smallest probability, so every value stays codable). A
row has positive mass whatever finite values ``cdf`` returns: its symbols' masses (clamped at 0)
sum to at least ``cdf(last) - cdf(first)``, and the escape holds ``1 -`` that; a non-finite
value is refused (``ValueError`` when encoding, ``BitstreamError`` when decoding).

**Stream**: the ANS coder's 32-bit words, little-endian; the decoder reads the groups in
order (by width, then element order), then the escapes; a stream with words left over after
all symbols is refused as corrupt. **Determinism**: the decoder rebuilds every row from the
parameters it has decoded so far, so ``params`` must be bit-identical on both sides (the same
network on the same device type and dtype, as for any learned codec) and ``cdf``/``support``
deterministic functions of them. CDFs are evaluated in float32 (supports are bounded to
+-2**22, where every half-integer is exact).

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
    strings, y_hat = latent.compress(y, params)            # one ANS string per image
    assert torch.equal(latent.decompress(strings, params), y_hat)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import constriction
import numpy as np
import torch
from torch import Tensor, nn

import lic_core._quiet  # noqa: F401  (before compressai)
from compressai.ops import LowerBound

from lic_core.coding import escapes
from lic_core.coding.one_thread import on_one_thread
from lic_core.coding.precision import full_precision
from lic_core.errors import BitstreamError
from lic_core.interfaces import Quantizer

CdfFn = Callable[[Tensor, Tensor], Tensor]
SupportFn = Callable[[Tensor], tuple[Tensor, Tensor]]

MAX_SUPPORT = 1024
"""Default cap on the symbols of one element (wider supports are narrowed around their
middle; values beyond go through the escape symbol)."""

_CHUNK = 1 << 21  # elements x points evaluated at once (bounds memory: ~8 MB of float32 per K)
_ROWS = constriction.stream.model.Categorical(perfect=False)  # a row of probabilities per symbol


def group_width(symbols: Tensor) -> Tensor:
    """The row width (symbols + escape) of elements with ``symbols`` own symbols: ``symbols + 1``
    rounded up to a multiple of a quarter of its power of two (at most 1/4 more; finer classes
    mean more groups, and each costs a few dozen small torch calls)."""
    w = symbols.long() + 1
    step = torch.clamp(torch.pow(2, torch.floor(torch.log2(w.double())).long() - 2), min=1)
    return (w + step - 1) // step * step


@dataclass
class RowGroup:
    """Elements ``index`` (n,) of one width: their first symbol ``lo`` (n,) and probability
    ``rows`` (n, width) as float32 numpy, the escape symbol last."""

    index: Tensor
    lo: Tensor
    rows: np.ndarray


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
@on_one_thread  # elementwise kernels split rows into vector and scalar parts by thread: same bits at any count
def probability_rows(params: Tensor, cdf: CdfFn, support: SupportFn, max_support: int = MAX_SUPPORT) -> list[RowGroup]:
    """Every element's probability row, grouped by width (see the module doc)."""
    if params.dim() != 2:
        raise ValueError(f"params must be (N, P), got shape {tuple(params.shape)}")
    if not 1 <= max_support <= 1 << 16:
        raise ValueError(f"max_support must be in [1, {1 << 16}], got {max_support}")
    params = params.detach().float()  # non-finite values give non-finite bounds or rows: refused below
    lo, hi = _bounded_support(*support(params), max_support)
    width = group_width(hi - lo + 1)
    order = torch.argsort(width, stable=True)
    widths, counts = torch.unique_consecutive(width[order], return_counts=True)
    groups = []
    for w, idx in zip(widths.tolist(), torch.split(order, counts.tolist())):
        points = torch.arange(w, dtype=torch.float32, device=params.device) - 0.5
        for part in torch.split(idx, max(1, _CHUNK // w)):
            c = cdf(lo[part].float().unsqueeze(1) + points, params[part]).float()
            rows = torch.empty_like(c)
            torch.diff(c, dim=1, out=rows[:, :-1])
            torch.sub(c[:, 0] + 1.0, c[:, -1], out=rows[:, -1])  # escape: the mass outside the row's symbols
            groups.append(RowGroup(part, lo[part], rows.clamp_(min=0.0).cpu().numpy()))  # sums to > 0 (module doc)
    return groups


def _symbols(values: Tensor, group: RowGroup) -> tuple[np.ndarray, Tensor]:
    """Row symbols of ``values`` (the escape for those outside) and the escape mask."""
    j = values[group.index] - group.lo
    escaped = (j < 0) | (j >= group.rows.shape[1] - 1)
    return torch.where(escaped, group.rows.shape[1] - 1, j).int().cpu().numpy(), escaped


def encode(values: Tensor, params: Tensor, cdf: CdfFn, support: SupportFn, max_support: int = MAX_SUPPORT) -> bytes:
    """Code integer ``values`` (N,) under per-element distributions ``params`` (N, P)."""
    values = values.reshape(-1).long()
    if values.numel() != params.size(0):
        raise ValueError(f"{values.numel()} values for {params.size(0)} parameter rows")
    groups = probability_rows(params, cdf, support, max_support)
    coder = constriction.stream.stack.AnsCoder()
    symbols, found = [], []
    for g in groups:
        s, escaped = _symbols(values, g)
        symbols.append(s)
        v, lo = values[g.index][escaped], g.lo[escaped]
        above = v > lo
        found.append((above, torch.where(above, v - lo - (g.rows.shape[1] - 1), lo - 1 - v)))
    if found:  # popped after every group
        escapes.push(coder, torch.cat([a for a, _ in found]), torch.cat([d for _, d in found]))
    for g, s in zip(reversed(groups), reversed(symbols)):
        coder.encode_reverse(s, _ROWS, g.rows)
    return coder.get_compressed().astype("<u4").tobytes()


def decode(string: bytes, params: Tensor, cdf: CdfFn, support: SupportFn, max_support: int = MAX_SUPPORT) -> Tensor:
    """Inverse of :func:`encode`: the (N,) integer values, as int64 on ``params``' device."""
    if len(string) % 4:
        raise BitstreamError(f"corrupted .lic stream (an entropy-coded string of {len(string)} bytes, not whole 32-bit words)")
    try:
        groups = probability_rows(params, cdf, support, max_support)
    except ValueError as e:  # parameters decoded from a corrupted stream (NaN, infinite)
        raise BitstreamError(f"corrupted .lic stream (entropy parameters unusable: {e})") from None
    words = np.frombuffer(string, dtype="<u4").astype(np.uint32)
    values = torch.zeros(params.size(0), dtype=torch.long)
    try:
        coder = constriction.stream.stack.AnsCoder(words)
        found = []
        for g in groups:
            j = torch.from_numpy(coder.decode(_ROWS, g.rows).astype(np.int64))
            escaped = j == g.rows.shape[1] - 1
            index, lo = g.index.cpu(), g.lo.cpu()
            values[index] = lo + j
            found.append((index[escaped], lo[escaped], g.rows.shape[1] - 1))
        above, distance = escapes.pop(coder, sum(int(i.numel()) for i, _, _ in found))
        if above.numel():
            index, lo = torch.cat([i for i, _, _ in found]), torch.cat([b for _, b, _ in found])
            last = torch.cat([torch.full((i.numel(),), w, dtype=torch.long) for i, _, w in found])
            values[index] = torch.where(above, lo + last + distance, lo - 1 - distance)
        left = not coder.is_empty()
    except ValueError as e:  # constriction's own checks of the data (e.g. a final zero word)
        raise BitstreamError(f"corrupted .lic stream ({' '.join(str(e).split())})") from None
    if left:
        raise BitstreamError("corrupted .lic stream (data left over after every symbol was decoded)")
    return values.to(params.device)


class DiscreteLatent(nn.Module):
    """A latent coded with a discrete distribution given by ``cdf`` and ``support`` (module doc).

    Values are integers: the codec's quantizer is called without means, ``q(y, None, "y")``,
    and the likelihood is ``cdf(y + 0.5) - cdf(y - 0.5)`` (bounded below by
    ``likelihood_bound``). ``params`` has ``y``'s shape plus a last dimension of ``P``.
    ``forward(y, params, q) -> (y_hat, likelihoods)``; ``compress(y, params) -> (strings,
    y_hat)`` with one string per image; ``decompress(strings, params) -> y_hat``.
    """

    def __init__(
        self, cdf: CdfFn, support: SupportFn, max_support: int = MAX_SUPPORT, likelihood_bound: float = 1e-9
    ) -> None:
        super().__init__()
        self.cdf, self.support = cdf, support
        self.options = {"max_support": int(max_support)}
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
