"""lic_core.coding.discrete: per-element CDFs of any discrete distribution, coded exactly."""

from __future__ import annotations

import math

import pytest
import torch

from lic_core.coding.discrete import DiscreteLatent, build_table, decode, encode, quantize_pmf
from lic_core.errors import BitstreamError


def laplace_cdf(x, p):
    z = (x - p[:, :1]) / p[:, 1:]
    return torch.where(z < 0, 0.5 * torch.exp(z), 1 - 0.5 * torch.exp(-z))


def laplace_support(p):
    return p[:, 0] - 8 * p[:, 1], p[:, 0] + 8 * p[:, 1]


def _laplace(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    loc = torch.randn(n, generator=g) * 3
    scale = torch.exp(torch.randn(n, generator=g)) * 0.7 + 0.05
    values = torch.round(loc + scale * torch.distributions.Laplace(0.0, 1.0).sample((n,)))
    return torch.stack([loc, scale], 1), values


def test_quantize_pmf_gives_valid_rows():
    pmf = torch.tensor([[0.5, 0.5, 0.0, 0.0, 9.0], [1e-12, 1.0, 1e-12, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    lengths = torch.tensor([4, 3, 2])
    cdf = quantize_pmf(pmf, lengths)
    assert cdf.shape == (3, 6) and cdf.dtype == torch.int32
    for row, n in zip(cdf.tolist(), lengths.tolist()):
        freq = [b - a for a, b in zip(row[:n], row[1 : n + 1])]
        assert row[0] == 0 and row[n] == 1 << 16 and min(freq) >= 1  # every symbol codable, total 2^16
        assert all(v == 1 << 16 for v in row[n:])
    assert cdf[2, 1] - cdf[2, 0] == cdf[2, 2] - cdf[2, 1]  # an all-zero row is coded uniformly
    with pytest.raises(ValueError, match="finite"):
        quantize_pmf(torch.tensor([[float("nan"), 1.0]]), torch.tensor([2]))


def test_round_trip_exact_with_escapes_and_rate_near_the_likelihood():
    params, values = _laplace(5000)
    values[:7] = torch.tensor([300.0, -300.0, 1e5, -1e5, 40.0, -41.0, 2.0**20])  # far outside: escape + bypass
    string = encode(values, params, laplace_cdf, laplace_support)
    decoded = decode(string, params, laplace_cdf, laplace_support)
    assert torch.equal(decoded, values.long())
    lik = laplace_cdf((values + 0.5).unsqueeze(1), params)[:, 0] - laplace_cdf((values - 0.5).unsqueeze(1), params)[:, 0]
    ideal = float(-torch.log2(lik[7:]).sum())
    assert 8 * len(string) < ideal * 1.02 + 7 * 80  # in-support symbols within 2% of the ideal rate


def test_tables_are_deterministic_and_identical_rows_are_shared():
    params, _ = _laplace(300)
    params = torch.cat([params, params[:50]])  # 50 repeated distributions
    a = build_table(params, laplace_cdf, laplace_support)
    b = build_table(params.clone(), laplace_cdf, laplace_support)
    assert a.table.cdfs == b.table.cdfs and torch.equal(a.indexes, b.indexes)
    assert len(a.table.cdfs) <= 300 and torch.equal(a.indexes[300:], a.indexes[:50])


def test_max_support_narrows_and_escapes_stay_exact():
    params = torch.tensor([[0.0, 500.0], [10.0, 0.01]])
    values = torch.tensor([900.0, 10.0])
    t = build_table(params, laplace_cdf, laplace_support, max_support=64)
    assert max(t.table.lengths) == 64 + 2  # 64 symbols + escape, CDF rows start at 0
    s = encode(values, params, laplace_cdf, laplace_support, max_support=64)
    assert torch.equal(decode(s, params, laplace_cdf, laplace_support, max_support=64), values.long())


def test_unusable_parameters_at_decode_are_a_bitstream_error():
    params, values = _laplace(100)
    string = encode(values, params, laplace_cdf, laplace_support)
    params[3, 1] = float("nan")
    with pytest.raises(BitstreamError, match="corrupted"):
        decode(string, params, laplace_cdf, laplace_support)


class _Round(torch.nn.Module):
    def forward(self, x, means=None, latent="y"):
        assert means is None  # a model without means rounds the values themselves
        return torch.round(x), torch.round(x)


def test_latent_part_forward_compress_decompress():
    latent = DiscreteLatent(laplace_cdf, laplace_support)
    g = torch.Generator().manual_seed(1)
    y = torch.randn(2, 3, 5, 4, generator=g) * 4
    params = torch.stack([torch.zeros_like(y), torch.full_like(y, 3.0)], -1)
    y_hat, lik = latent(y, params, _Round())
    assert torch.equal(y_hat, torch.round(y)) and lik.shape == y.shape
    expected = 0.5 * torch.exp(-torch.round(y).abs() / 3) * (math.exp(0.5 / 3) - math.exp(-0.5 / 3))
    nonzero = torch.round(y) != 0
    assert torch.allclose(lik[nonzero], expected[nonzero], rtol=1e-4)
    strings, coded = latent.compress(y, params)
    assert len(strings) == 2 and torch.equal(coded, y_hat)
    assert torch.equal(latent.decompress(strings, params), y_hat)
    with pytest.raises(ValueError, match="shape"):
        latent.compress(y, params[:, :2])
