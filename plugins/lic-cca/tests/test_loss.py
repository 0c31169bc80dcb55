"""cca.loss: the auxiliary model skips the previous slice, each mode's objective and gradients are
what the README defines (authors: METHODS §A), and nothing of it reaches coding checkpoints."""

import math

import pytest
import torch

from lic_core import compose
from lic_core.errors import CompositionError
from lic_cca.plugin import _TINY


def _codec(**loss):
    torch.manual_seed(0)
    return compose({**_TINY, "losses": [{"id": "cca.loss", **loss}]})


def test_aux_model_skips_the_previous_slice():
    codec = _codec().eval()
    aux, q = codec.losses[0].aux, codec.quantizer
    em = codec.entropy_model
    assert em.groups == (2, 5, 9)
    y = torch.randn(1, 16, 4, 4) * 2
    with torch.no_grad():
        side = em(y)["side"]
        base = aux(y, side, q).likelihoods
        y2 = y.clone()
        y2[:, 2:7] += 3.0  # perturb slice 1
        moved = aux(y2, side, q).likelihoods
        y3 = y.clone()
        y3[:, :2] += 3.0  # perturb slice 0
        moved0 = aux(y3, side, q).likelihoods
    assert torch.equal(base[2], moved[2])  # slice 2 does not see slice 1
    assert not torch.equal(base[2], moved0[2])  # but it sees slice 0
    assert torch.equal(base[1], moved0[1])  # slices 0 and 1 see only the hyperprior
    # the main model's slice 2 does see slice 1
    with torch.no_grad():
        assert not torch.equal(em(y)["likelihoods"]["y"][:, 7:], em(y2)["likelihoods"]["y"][:, 7:])


def test_authors_loss_is_alpha_cca_plus_auxfit():
    codec = _codec(alpha=2.0, mode="authors").eval()
    term = codec.losses[0]
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        out = codec(x)
        value = term(x, out, codec)
        pixels = 64 * 64
        p_aux = torch.cat(term.aux(out["y"], out["side"], codec.quantizer).likelihoods, 1)
        p_fact = term.fit.likelihood(torch.round(out["y"] - term.fit.medians()) + term.fit.medians())
        r_main = -torch.log2(out["likelihoods"]["y"]).sum() / pixels
        r_aux = -torch.log2(p_aux).sum() / pixels
        auxfit = (p_aux * -torch.log2(p_fact)).sum() / pixels
    assert math.isclose(value.item(), (2.0 * (r_main - r_aux) + auxfit).item(), rel_tol=1e-5)
    d = term.diagnostics
    assert d["L_cca"].item() == pytest.approx((r_main - r_aux).item(), rel=1e-5)
    assert d["auxfit"].item() == pytest.approx(auxfit.item(), rel=1e-5) and 0 <= d["floor"].item() <= 1


@pytest.mark.parametrize("detach", [False, True])
def test_detached_mode_stops_gradients_into_the_codec(detach):
    codec = _codec(alpha=0.0, mode="detached" if detach else "authors").train()  # alpha=0: only L_auxfit
    x = torch.rand(1, 3, 64, 64)
    codec.losses[0](x, codec(x), codec).backward()
    grad = codec.transform.analysis[0].weight.grad
    reached = grad is not None and bool(grad.any())
    assert reached is not detach
    assert next(codec.losses[0].aux.parameters()).grad is not None


def _term_grads(codec, y0, alpha):
    """Gradients of the term (fitted mode) on y and the auxiliary weights, and the reference ones:
    alpha * d(R_main - R_aux)/dy with the auxiliary weights fixed, then dR_aux/dweights on
    detached inputs (the same noise draws, in the term's order)."""
    em, term, q = codec.entropy_model, codec.losses[0], codec.quantizer
    aux = list(term.aux.parameters())
    x = torch.zeros(1, 3, 64, 64)
    torch.manual_seed(5)
    y = y0.clone().requires_grad_(True)
    out = {"y": y, **em(y)}
    value = term(x, out, codec)
    got = torch.autograd.grad(value, [y, *aux], allow_unused=True)
    torch.manual_seed(5)
    y = y0.clone().requires_grad_(True)
    out = em(y)
    r_main = -torch.log2(out["likelihoods"]["y"]).sum() / 4096
    r_aux = -torch.log2(torch.cat(term.aux(y, out["side"], q).likelihoods, 1)).sum() / 4096
    (ref_y,) = torch.autograd.grad(alpha * (r_main - r_aux), [y], retain_graph=True)
    side = tuple(s.detach() for s in out["side"])
    r_fit = -torch.log2(torch.cat(term.aux(y0, side, q).likelihoods, 1)).sum() / 4096
    ref_aux = torch.autograd.grad(r_fit, aux, allow_unused=True)
    return got, (ref_y, *ref_aux), value, r_main, r_aux, r_fit


def test_fitted_mode_fits_the_auxiliary_model_and_sends_the_gap_to_the_codec():
    codec = _codec(alpha=0.7).train()  # both passes draw the same noise
    y0 = torch.randn(1, 16, 4, 4) * 3
    got, ref, value, r_main, r_aux, r_fit = _term_grads(codec, y0, 0.7)
    for g, r in zip(got, ref):
        if r is None:
            assert g is None or not g.any()
        else:
            assert torch.allclose(g, r, rtol=1e-4, atol=1e-7)
    assert ref[0].abs().sum() > 0 and any(r is not None and r.abs().sum() > 0 for r in ref[1:])
    assert value.item() == pytest.approx((0.7 * (r_main - r_aux) + r_fit).item(), rel=1e-5)


@pytest.mark.parametrize("mode, rises", [("authors", True), ("fitted", False)])
def test_a_step_on_the_auxiliary_weights_raises_its_rate_only_in_the_authors_mode(mode, rises):
    """The authors' objective pushes the auxiliary likelihoods down (towards the floor); the
    fitted mode fits them."""
    codec = _codec(mode=mode).eval()
    term, x = codec.losses[0], torch.rand(1, 3, 64, 64)
    aux = list(term.aux.parameters())
    out = codec(x)
    before = term(x, out, codec)
    r_before = term.diagnostics["R_aux"].item()
    grads = torch.autograd.grad(before, aux, allow_unused=True)
    with torch.no_grad():
        for p, g in zip(aux, grads):
            if g is not None:
                p -= 1e-3 * g / (g.norm() + 1e-12)
        term(x, {k: v.detach() if torch.is_tensor(v) else v for k, v in out.items()}, codec)
    assert (term.diagnostics["R_aux"].item() > r_before) is rises


def test_modes_are_checked():
    with pytest.raises(ValueError, match="mode must be one of fitted, authors, detached"):
        _codec(mode="paper")


def test_aux_model_never_in_coding_checkpoints():
    codec = _codec()
    coding = codec.coding_state_dict()
    assert not any(k.startswith("losses.") for k in coding)
    assert any(k.startswith("losses.0.aux.") for k in codec.state_dict())
    assert codec.num_parameters() < codec.num_parameters(coding_only=False)


def test_needs_a_sliced_entropy_model():
    recipe = {
        "transform": {"id": "core.gdn", "N": 8, "M": 8},
        "entropy_model": {"id": "core.hyperprior", "N": 8},
        "losses": [{"id": "cca.loss"}],
    }
    with pytest.raises(CompositionError, match="SlicedEntropyModel"):
        compose(recipe)
