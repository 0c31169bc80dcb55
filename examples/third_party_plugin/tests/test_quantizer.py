"""The two stages of ``sth.quantizer`` on plain tensors."""

import pytest
import torch

from lic_sth.quantizer import SoftThenHardQuantizer


def _inputs():
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(2, 4, 6, 6, generator=g) * 3).requires_grad_()
    means = torch.randn(2, 4, 6, 6, generator=g)
    return x, means


def test_soft_stage_is_additive_uniform_noise():
    x, means = _inputs()
    rate, hat = SoftThenHardQuantizer().train()(x, means)
    assert torch.equal(rate, hat)  # the paper's soft stage: AUN for rate and reconstruction
    noise = (hat - x).detach()
    assert bool((noise.abs() <= 0.5).all()) and noise.std() > 0.2
    assert not torch.equal(hat, torch.round(x - means) + means)
    hat.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_soft_mixed_rounds_the_reconstruction():
    x, means = _inputs()
    rate, hat = SoftThenHardQuantizer(soft="mixed").train()(x, means)
    assert torch.equal(hat, torch.round(x - means) + means)
    assert not torch.equal(rate, hat)


def test_hard_stage_equals_test_time_and_fixes_the_encoder():
    x, means = _inputs()
    q = SoftThenHardQuantizer().harden().train()
    rate, hat = q(x, means)
    expected = torch.round(x.detach() - means) + means
    assert torch.equal(rate, expected) and torch.equal(hat, expected)
    assert torch.equal(q.eval()(x.detach(), means)[1], expected)
    assert not hat.requires_grad  # no path back to the encoder
    means.requires_grad_()
    q.train()(x, means)[1].sum().backward()
    assert x.grad is None and means.grad is not None


def test_hard_stage_without_freezing_is_straight_through():
    x, means = _inputs()
    _, hat = SoftThenHardQuantizer(stage="hard", freeze_encoder=False).train()(x, means)
    assert torch.equal(hat, torch.round(x - means) + means)
    hat.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize(("kwargs", "match"), [({"stage": "medium"}, "stage"), ({"soft": "gumbel"}, "soft")])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SoftThenHardQuantizer(**kwargs)
