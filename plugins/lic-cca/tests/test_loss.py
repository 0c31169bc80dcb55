"""cca.loss: the auxiliary model skips the previous slice, the loss is what METHODS §A defines,
and nothing of it reaches coding checkpoints."""

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


def test_loss_is_alpha_cca_plus_auxfit():
    codec = _codec(alpha=2.0).eval()
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


@pytest.mark.parametrize("detach", [False, True])
def test_detach_aux_stops_gradients_into_the_codec(detach):
    codec = _codec(alpha=0.0, detach_aux=detach).train()  # alpha=0: only L_auxfit
    x = torch.rand(1, 3, 64, 64)
    codec.losses[0](x, codec(x), codec).backward()
    grad = codec.transform.analysis[0].weight.grad
    reached = grad is not None and bool(grad.any())
    assert reached is not detach
    assert next(codec.losses[0].aux.parameters()).grad is not None


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
