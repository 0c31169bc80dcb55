"""ICRSA (Jiang et al.): a two-stage concatenated residual module before each RNAB; and the
stem that a pre-processing stage replaces (``in_stride > 1``, ``stem_kernel``)."""

import pytest
import torch

from lic_core import compose, create, get_recipe
from lic_core.testing import assert_codes_exactly

from lic_tinylic.blocks import RNAB
from lic_tinylic.crm import ConcatenatedResidualModule, ICRSABlock

SMALL = {"N": 8, "M": 12, "depths": [1, 1, 2, 1], "heads": [1, 1, 1, 1], "kernel": 3}


def test_icrsa_unit_puts_a_two_stage_crm_before_each_rnab_and_keeps_the_stage_depths():
    t = create("tinylic.transform", unit="icrsa", **SMALL)
    units = [m for m in t.analysis if isinstance(m, ICRSABlock)]
    assert len(units) == 4 and all(len(u.crm.blocks) == 2 for u in units)
    assert [len(u.rnab.layers) for u in units] == [1, 1, 2, 1]
    assert isinstance(t.analysis[0], torch.nn.Conv2d)  # conv, then CRM, then RNAB
    assert sum(isinstance(m, ICRSABlock) for m in t.synthesis) == 4
    plain = create("tinylic.transform", **SMALL)
    assert not any(isinstance(m, ICRSABlock) for m in plain.modules())
    assert sum(isinstance(m, RNAB) for m in plain.modules()) == 8


def test_crm_has_a_shortcut_around_its_cascade():
    crm = ConcatenatedResidualModule(4, stages=2)
    x = torch.randn(1, 4, 5, 5)
    assert not torch.equal(crm(x), x)
    for block in crm.blocks:  # zero the last conv of each residual block: every path is identity
        torch.nn.init.zeros_(block.body[-1].weight)
        torch.nn.init.zeros_(block.body[-1].bias)
    assert torch.allclose(crm(x), 2 * x)  # x + (identity cascade of x)


def test_unknown_unit_and_unit_with_block_are_refused():
    with pytest.raises(ValueError, match="unit must be"):
        create("tinylic.transform", unit="icrs", **SMALL)
    with pytest.raises(ValueError, match="either unit or block"):
        create("tinylic.transform", unit="icrsa", block={"id": "tinylic.icrsa", "depth": 1}, **SMALL)


def test_icrsa_small_recipe_codes_exactly():
    torch.manual_seed(0)
    assert get_recipe("tinylic-icrsa")["transform"]["unit"] == "icrsa"
    codec = compose("tinylic-icrsa-small")
    assert any(isinstance(m, ICRSABlock) for m in codec.transform.modules())
    assert_codes_exactly(codec, torch.rand(1, 3, 64, 64))


@pytest.mark.parametrize("stem_kernel", [3, 5])
def test_a_replaced_stem_is_a_stride_1_conv_of_stem_kernel(stem_kernel):
    t = create("tinylic.transform", in_channels=20, in_stride=2, stem_kernel=stem_kernel, **SMALL)
    first, last = t.analysis[0], t.synthesis[-1]
    assert first.in_channels == 20 and first.stride == (1, 1) and first.kernel_size == (stem_kernel,) * 2
    assert last.out_channels == 20 and last.stride == (1, 1) and last.kernel_size == (stem_kernel,) * 2
    image = create("tinylic.transform", stem_kernel=stem_kernel, **SMALL)  # the image stem is untouched
    assert image.analysis[0].kernel_size == (5, 5) and image.analysis[0].stride == (2, 2)
