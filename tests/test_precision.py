"""Quantization and likelihoods stay in float32 under autocast (``lic train --amp``)."""

from __future__ import annotations

import torch

from lic_core.builtins.quantizers import MixedQuantizer
from lic_core.coding.factorized import EntropyBottleneck
from lic_core.coding.gaussian import GaussianConditional
from lic_core.coding.precision import full_precision


def test_likelihoods_and_quantizer_return_float32_under_bf16_autocast():
    gc, eb, q = GaussianConditional(), EntropyBottleneck(4), MixedQuantizer().train()
    values = (torch.randn(1, 4, 8, 8) * 20).bfloat16()
    scales = (torch.rand(1, 4, 8, 8) * 5 + 0.2).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y_rate, y_hat = q(values, scales)
        lik_y = gc.likelihood(values, scales, scales)
        lik_z = eb.likelihood(values)
    assert {t.dtype for t in (y_rate, y_hat, lik_y, lik_z)} == {torch.float32}
    # the noisy latent keeps the noise: a bfloat16 sum would snap 20 + u to steps of 0.125
    fractional = (y_rate - values.float()).abs()
    assert ((fractional * 8) % 1).gt(1e-3).any()
    assert torch.allclose(lik_y, gc.likelihood(values.float(), scales.float(), scales.float()))


def test_full_precision_is_a_no_op_outside_autocast():
    half = torch.ones(3, dtype=torch.bfloat16)
    assert full_precision(lambda t: t)(half).dtype == torch.bfloat16
