"""lic_core.coding.discrete: per-element CDFs of any discrete distribution, coded exactly."""

from __future__ import annotations

import math

import pytest
import torch

from lic_core.coding.discrete import DiscreteLatent, decode, encode, group_width, probability_rows
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


def test_group_widths_pad_at_most_a_quarter():
    symbols = torch.arange(1, 3000)
    w = group_width(symbols)
    assert bool((w >= symbols + 1).all()) and bool((w <= (symbols + 1) * 5 / 4).all())
    assert len(torch.unique(w)) < 50  # few groups: one rectangle of rows each
    assert group_width(torch.tensor([1, 2, 3, 7])).tolist() == [2, 3, 4, 8]  # small widths are exact


def test_round_trip_exact_with_escapes_and_rate_near_the_likelihood():
    params, values = _laplace(5000)
    values[:7] = torch.tensor([300.0, -300.0, 1e5, -1e5, 40.0, -41.0, 2.0**20])  # far outside: escape + bypass
    string = encode(values, params, laplace_cdf, laplace_support)
    decoded = decode(string, params, laplace_cdf, laplace_support)
    assert torch.equal(decoded, values.long())
    lik = laplace_cdf((values + 0.5).unsqueeze(1), params)[:, 0] - laplace_cdf((values - 0.5).unsqueeze(1), params)[:, 0]
    ideal = float(-torch.log2(lik[7:]).sum())
    assert 8 * len(string) < ideal * 1.02 + 7 * 80  # in-support symbols within 2% of the ideal rate


def test_rows_are_deterministic_and_hold_the_distribution():
    params, _ = _laplace(300)
    a = probability_rows(params, laplace_cdf, laplace_support)
    b = probability_rows(params.clone(), laplace_cdf, laplace_support)
    assert [g.rows.tobytes() for g in a] == [g.rows.tobytes() for g in b]
    assert sorted(torch.cat([g.index for g in a]).tolist()) == list(range(300))
    for g in a:  # every row: a mass per symbol, the tail last, summing to 1
        assert g.rows.min() >= 0 and abs(g.rows.sum(1) - 1).max() < 1e-5


def test_max_support_narrows_and_escapes_stay_exact():
    params = torch.tensor([[0.0, 500.0], [10.0, 0.01]])
    values = torch.tensor([900.0, 10.0])
    groups = probability_rows(params, laplace_cdf, laplace_support, max_support=64)
    assert max(g.rows.shape[1] for g in groups) == 80  # 64 symbols + escape, rounded up to 5 x 16
    s = encode(values, params, laplace_cdf, laplace_support, max_support=64)
    assert torch.equal(decode(s, params, laplace_cdf, laplace_support, max_support=64), values.long())
    with pytest.raises(ValueError, match="beyond its coded range"):
        encode(torch.tensor([2.0**40, 0.0]), params, laplace_cdf, laplace_support)


def test_hostile_strings_are_bitstream_errors():
    params, values = _laplace(200)
    string = encode(values, params, laplace_cdf, laplace_support)
    for bad, match in ((string[:-1], "whole 32-bit words"), (string + bytes(4), "zero word"),
                       (string + b"\x01\x00\x00\x00", "left over")):  # fmt: skip
        with pytest.raises(BitstreamError, match=match):
            decode(bad, params, laplace_cdf, laplace_support)
    flipped = bytearray(string)
    flipped[len(flipped) // 2] ^= 0x10
    try:  # a flipped bit decodes to other values or is refused; never a crash or a hang
        assert not torch.equal(decode(bytes(flipped), params, laplace_cdf, laplace_support), values.long())
    except BitstreamError:
        pass


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
