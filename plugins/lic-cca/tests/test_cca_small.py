"""Recipe cca-small on CPU: train step, and decompress(compress(x)) equals the eval forward."""

import torch

from lic_core import compose, get_recipe
from lic_core.losses import rate_distortion
from lic_core.testing import assert_codes_exactly


def test_cca_small_trains_and_codes_exactly():
    torch.manual_seed(0)
    codec = compose("cca-small")
    x = torch.rand(1, 3, 64, 64)
    codec.train()
    out = codec(x)
    loss = rate_distortion(x, out, 0.013)["loss"] + codec.losses[0](x, out, codec)
    loss.backward()
    assert torch.isfinite(loss)
    assert codec.transform.analysis[0].weight.grad.abs().sum() > 0
    assert next(codec.losses[0].aux.parameters()).grad is not None

    assert_codes_exactly(codec, x)


def test_recipe_slices():
    assert get_recipe("cca")["entropy_model"]["k"] == 1.7
    codec = compose("cca-small")
    assert codec.entropy_model.groups == (2, 8, 16, 27, 43)
