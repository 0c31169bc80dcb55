"""Build the CDF tables of every entropy coder in a module tree, and check tables read from a file."""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

import lic_core._quiet  # noqa: F401
from compressai.entropy_models import EntropyBottleneck as _Bottleneck
from compressai.entropy_models import EntropyModel as _EntropyModel
from compressai.entropy_models import GaussianConditional as _Gaussian
from compressai.models.base import get_scale_table

from lic_core.coding.gaussian import SCALE_MAX, GaussianConditional
from lic_core.errors import CheckpointError


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


# -- checking tables read from a file -------------------------------------------------------
# CompressAI's coder divides by each symbol's frequency and trusts the offsets and lengths: a
# zeroed CDF row is a SIGFPE, an offset of 2^30 a hang. Tables from files are checked first.
MAX_CDF_WIDTH = 2**16 + 1  # 16-bit CDFs: at most 2^16 symbols, each of frequency >= 1
MAX_TABLE_ENTRIES = 2**24  # all CDF rows of a codec together (the shipped codecs have 0.8 M)
TABLES = ("_quantized_cdf", "_cdf_length", "_offset")


def coders(module: nn.Module) -> dict[str, _EntropyModel]:
    """The CompressAI entropy models below ``module``, by state-dict prefix (``"a.b."``)."""
    return {f"{name}.": m for name, m in module.named_modules() if isinstance(m, _EntropyModel)}


def check_table_shapes(module: nn.Module, shapes: Mapping[str, tuple[int, ...]], where: str) -> None:
    """Refuse coder tables whose shapes a file gives wrongly (checked before reading them):
    all three filled or all empty, one row per channel (bottleneck) or scale (Gaussian), rows no
    wider than 16-bit precision allows, and :data:`MAX_TABLE_ENTRIES` in all."""
    total = 0
    for prefix, m in coders(module).items():
        if prefix + "_offset" not in shapes:
            continue  # a training-only module the file does not hold
        cdf, length, offset = (shapes[prefix + k] for k in TABLES)
        scales = shapes.get(prefix + "scale_table")
        if scales is not None and (len(scales) != 1 or scales[0] > MAX_CDF_WIDTH):
            raise CheckpointError(f"{where}: {prefix}scale_table has shape {scales} (a 1-D table of at most {MAX_CDF_WIDTH} scales)")
        if all(math.prod(s) == 0 for s in (cdf, length, offset)):
            continue  # no tables: update() builds them
        if len(cdf) != 2 or len(length) != 1 or len(offset) != 1 or not cdf[0] == length[0] == offset[0]:
            raise CheckpointError(f"{where}: {prefix}_quantized_cdf {cdf}, _cdf_length {length} and _offset {offset} do not form one table")
        rows = scales[0] if scales is not None else int(getattr(m, "channels", cdf[0]))
        if cdf[0] != rows:
            raise CheckpointError(f"{where}: {prefix}_quantized_cdf has {cdf[0]} rows, not {rows}")
        if not 3 <= cdf[1] <= MAX_CDF_WIDTH:
            raise CheckpointError(f"{where}: {prefix}_quantized_cdf rows are {cdf[1]} wide (3 to {MAX_CDF_WIDTH})")
        total += cdf[0] * cdf[1]
        if total > MAX_TABLE_ENTRIES:
            raise CheckpointError(f"{where}: its CDF tables hold over {MAX_TABLE_ENTRIES:,} entries")


def check_tables(module: nn.Module, state: Mapping[str, Tensor], where: str) -> None:
    """Refuse coder tables the coder cannot use: each row a CDF rising strictly from 0 to
    2^precision over its ``_cdf_length`` entries (every symbol frequency > 0, as CompressAI
    builds them), offsets in ``[-(length - 3), 0]``, scale tables positive and increasing,
    bottleneck quantiles no wider than a table can be (:data:`MAX_CDF_WIDTH`)."""
    for prefix, m in coders(module).items():
        if prefix + "_offset" not in state:
            continue
        quantiles = state.get(prefix + "quantiles")
        if quantiles is not None and quantiles.numel():  # the table update() would build from them
            lower, median, upper = quantiles.double().reshape(-1, 3).unbind(1)
            width = torch.ceil(median - lower).clamp(min=0) + torch.ceil(upper - median).clamp(min=0) + 3
            if width.max() > MAX_CDF_WIDTH:
                raise CheckpointError(f"{where}: {prefix}quantiles span more than {MAX_CDF_WIDTH - 3} symbols")
        scales = state.get(prefix + "scale_table")
        if scales is not None and scales.numel():
            if not (scales > 0).all() or not (scales[1:] > scales[:-1]).all():
                raise CheckpointError(f"{where}: {prefix}scale_table must be positive and strictly increasing")
        cdf, length, offset = (state[prefix + k] for k in TABLES)
        if length.numel() == 0:
            continue
        n = length.long()
        if not ((n >= 3) & (n <= cdf.size(1))).all():
            raise CheckpointError(f"{where}: {prefix}_cdf_length must lie in [3, {cdf.size(1)}] (the table's width)")
        o = offset.long()
        if not ((o <= 0) & (o >= -(n - 3))).all():
            raise CheckpointError(f"{where}: {prefix}_offset must lie in [-(_cdf_length - 3), 0]")
        q = cdf.long()
        top = 1 << int(getattr(m, "entropy_coder_precision", 16))
        inside = torch.arange(q.size(1) - 1) < (n - 1)[:, None]
        rising = ((q[:, 1:] > q[:, :-1]) | ~inside).all(1)
        ends = (q[:, 0] == 0) & (q.gather(1, (n - 1)[:, None]).squeeze(1) == top)
        bad = (~(rising & ends)).nonzero().flatten()
        if bad.numel():
            row = int(bad[0])
            raise CheckpointError(
                f"{where}: {prefix}_quantized_cdf row {row} is not a usable CDF (it must rise strictly "
                f"from 0 to {top} over its {int(n[row])} entries; {bad.numel()} bad row(s))"
            )


def check_planned_tables(module: nn.Module, where: str) -> None:
    """Refuse an ``update()`` that would build more than :data:`MAX_TABLE_ENTRIES` CDF entries
    for the coders whose tables are empty, estimated from their quantiles and scale-table sizes
    before CompressAI allocates its rows-by-width work tensors."""
    total = 0
    for prefix, m in coders(module).items():
        if m._offset.numel():
            continue
        if isinstance(m, _Bottleneck):
            q = m.quantiles.detach().double().reshape(-1, 3)
            lower = torch.ceil(q[:, 1] - q[:, 0]).clamp(min=0)
            upper = torch.ceil(q[:, 2] - q[:, 1]).clamp(min=0)
            rows, width = q.size(0), int((lower + upper).max()) + 3 if q.numel() else 0
        elif isinstance(m, _Gaussian):
            rows, top = (int(m.levels), SCALE_MAX) if isinstance(m, GaussianConditional) else (len(get_scale_table()), 256.0)
            width = 2 * math.ceil(top * -float(m._standardized_quantile(m.tail_mass / 2))) + 3
        else:
            continue
        total += rows * width
        if total > MAX_TABLE_ENTRIES:
            raise CheckpointError(f"{where}: {prefix[:-1]} would need CDF tables of over {MAX_TABLE_ENTRIES:,} entries")
