"""The codec-level coding contract, for plugin tests: ``decompress(compress(x))`` reproduces
the eval-mode forward exactly (latents and reconstruction)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import Tensor


def assert_codes_exactly(codec: "torch.nn.Module", x: "Tensor") -> dict[str, Any]:
    """Put ``codec`` in eval mode, update its tables, and check that compress and decompress
    give the eval forward's ``y_hat`` and its clamped ``x_hat`` bit for bit.

    :return: ``{"forward": ..., "compressed": ..., "decoded": ...}`` for further checks.
    """
    import torch

    codec.eval().update(force=True)
    with torch.no_grad():
        ref = codec(x)
        enc = codec.compress(x)
        dec = codec.decompress(enc["strings"], enc["shape"])
    assert torch.equal(enc["y_hat"], ref["y_hat"]), "compress's latents differ from the eval forward's"
    assert torch.equal(dec["y_hat"], ref["y_hat"]), "decoded latents differ from the eval forward's"
    assert torch.equal(dec["x_hat"], ref["x_hat"].clamp(0, 1)), "decoded image differs from the eval forward's"
    return {"forward": ref, "compressed": enc, "decoded": dec}
