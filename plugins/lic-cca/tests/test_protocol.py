"""cca.loss works with any SlicedEntropyModel, here one built on the core's ChannelGroupsCoder
through CoderSliceModel (the way channel-groups entropy models such as STF's can opt in), and the
conformance kit's check of that protocol."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from lic_core.builtins.quantizers import MixedQuantizer
from lic_core.coding.channel_groups import ChannelGroupsCoder, SideGaussianCoder
from lic_core.coding.slices import CoderSliceModel, SlicedEntropyModel, previous_support
from lic_cca.loss import CCALoss

M, GROUPS = 8, (2, 2, 4)


class GroupsModel(nn.Module):
    """A minimal sliced model: side = conv1x1(y), slice k's Gaussian from [side, support]."""

    def __init__(self) -> None:
        super().__init__()
        self.latent_channels, self.groups = M, GROUPS
        self.hyper = nn.Conv2d(M, M, 1)
        self.coder = self._coder(previous_support(len(GROUPS)))

    def _coder(self, support):
        contexts = [nn.Identity() if s else None for s in support]
        coders = [
            SideGaussianCoder(nn.Conv2d(M + sum(GROUPS[j] for j in s), 2 * g, 1), g) for s, g in zip(support, GROUPS)
        ]
        return ChannelGroupsCoder(GROUPS, contexts, coders, support=support, merge="side-ctx")

    def slice_model(self, support):
        return CoderSliceModel(self._coder(support))

    def forward(self, y):
        side = self.hyper(y)
        y_hat, lik = self.coder(y, side, MixedQuantizer().eval())
        return {"y_hat": y_hat, "likelihoods": {"y": lik}, "side": side}


def test_cca_loss_on_a_channel_groups_model():
    torch.manual_seed(0)
    em = GroupsModel()
    assert isinstance(em, SlicedEntropyModel)
    term = CCALoss()
    codec = SimpleNamespace(entropy_model=em, quantizer=MixedQuantizer().eval())
    term.setup(codec)
    assert term.aux.support == ((), (), (0,))
    y = torch.randn(1, M, 4, 4) * 2
    x = torch.rand(1, 3, 64, 64)
    out = {"y": y, **em(y)}
    value = term(x, out, codec)
    assert torch.isfinite(value)
    value.backward()
    assert em.hyper.weight.grad is not None  # the auxiliary model reads the main model's side
    with torch.no_grad():
        y2 = y.clone()
        y2[:, 2:4] += 3.0  # slice 1
        a = term.aux(y, out["side"], codec.quantizer).likelihoods[2]
        b = term.aux(y2, out["side"], codec.quantizer).likelihoods[2]
    assert torch.equal(a, b)


def test_the_conformance_check_catches_an_auxiliary_model_that_sees_the_previous_slice(monkeypatch):
    """The kit's ``slices`` check passes on core.elic-groups and fails once its slice_model
    ignores the support it is given (every slice sees every earlier one)."""
    from lic_core.builtins.context import ElicEntropyModel
    from lic_core.discovery import get_registry
    from lic_core.testing.checks.entropy_model import check_slices
    from lic_core.testing.result import CheckFailed

    spec = get_registry().component("core.elic-groups")
    assert "never sees the slice before" in check_slices(spec)
    leaky = lambda self, support: CoderSliceModel(self._coder(previous_support(len(self.groups))))  # noqa: E731
    monkeypatch.setattr(ElicEntropyModel, "slice_model", leaky)
    with pytest.raises(CheckFailed, match="slice 1 sees slice 0 or a later slice"):
        check_slices(spec)
