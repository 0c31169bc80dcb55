"""Build the CDF tables of every entropy coder in a module tree."""

from __future__ import annotations

from torch import nn

import lic_core._quiet  # noqa: F401
from compressai.entropy_models import EntropyBottleneck as _Bottleneck
from compressai.entropy_models import GaussianConditional as _Gaussian
from compressai.models.base import get_scale_table

from lic_core.coding.gaussian import GaussianConditional


def update_tables(module: nn.Module, force: bool = False, scale_table=None) -> bool:
    """Update every bottleneck and Gaussian conditional below ``module``.

    lic's own Gaussian conditionals use their fine table unless ``scale_table`` is given;
    plain CompressAI ones get CompressAI's default table, as ``CompressionModel.update`` does.
    """
    updated = False
    for m in module.modules():
        if isinstance(m, _Bottleneck):
            updated |= m.update(force=force)
        elif isinstance(m, GaussianConditional) and scale_table is None:
            updated |= m.update(force=force)
        elif isinstance(m, _Gaussian):
            updated |= m.update_scale_table(get_scale_table() if scale_table is None else scale_table, force=force)
    return updated
