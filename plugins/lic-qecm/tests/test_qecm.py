"""QECM behaviour: the Fourier approximation, the residual noise, deterministic decoding."""

from __future__ import annotations

import math

import pytest
import torch

import lic_core
from lic_qecm.fourier import fourier_round, residual_laplace_scale
from lic_qecm.quantizer import QECMQuantizer


def test_fourier_round_approaches_rounding_as_harmonics_grow():
    x = torch.linspace(-3.3, 3.3, 10_001, dtype=torch.float64)
    away_from_jumps = (x - torch.round(x)).abs() < 0.4
    errors = [(fourier_round(x, k) - torch.round(x))[away_from_jumps].abs().mean().item() for k in (1, 5, 50)]
    assert errors[0] > errors[1] > errors[2]
    # one harmonic is exactly x - sin(2 pi x) / pi
    assert torch.allclose(fourier_round(x, 1), x - torch.sin(2 * math.pi * x) / math.pi)


def test_residual_scale_of_five_harmonics_is_about_0052():
    assert residual_laplace_scale(5) == pytest.approx(0.052, abs=0.001)
    assert QECMQuantizer(harmonics=5).noise_scale == pytest.approx(0.0518, abs=5e-4)


def test_training_is_differentiable_and_mean_centred():
    q = QECMQuantizer().train()
    x = torch.randn(3, 4, 5, 5, requires_grad=True)
    means = torch.randn(3, 4, 5, 5)
    rate, x_hat = q(x, means)
    assert torch.equal(rate, x_hat)
    assert torch.allclose(x_hat, means + fourier_round(x - means, 5))
    x_hat.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_test_time_noise_is_clipped_laplace_and_seeded_by_content():
    q = QECMQuantizer().eval()
    y_hat = torch.round(torch.randn(1, 64, 32, 32) * 3)
    a, b = q.finalize(y_hat), q.finalize(y_hat.clone())
    assert torch.equal(a, b)
    noise = a - y_hat
    assert noise.abs().max() <= 0.5 and noise.abs().mean().item() == pytest.approx(q.noise_scale, rel=0.05)
    assert not torch.equal(q.finalize(y_hat + 1) - (y_hat + 1), noise)
    assert torch.equal(QECMQuantizer(compensate_z=False).eval().finalize(y_hat, "z"), y_hat)


def test_decoding_the_same_stream_twice_gives_the_same_image():
    torch.manual_seed(0)
    codec = lic_core.compose(
        {
            "transform": {"id": "core.gdn", "N": 16, "M": 24},
            "entropy_model": {"id": "core.hyperprior", "N": 16},
            "quantizer": {"id": "qecm.quantizer"},
        }
    ).eval()
    codec.update(force=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        enc = codec.compress(x)
        first = codec.decompress(enc["strings"], enc["shape"])["x_hat"]
        second = codec.decompress(enc["strings"], enc["shape"])["x_hat"]
        forward = codec(x)["x_hat"].clamp(0, 1)
    assert torch.equal(first, second) and torch.equal(first, forward)
    plain = lic_core.compose({**codec.recipe, "quantizer": {"id": "core.mixed"}}).eval()
    plain.load_state_dict(codec.state_dict())
    with torch.no_grad():
        assert not torch.equal(plain.decompress(enc["strings"], enc["shape"])["x_hat"], first)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="harmonics"):
        QECMQuantizer(harmonics=0)
    with pytest.raises(ValueError, match="rate"):
        QECMQuantizer(rate="gumbel")
