"""Per-image measurement records and their means (the numbers a result file holds)."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

RESULT_KEYS = ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time")


def mean_record(rows: Sequence[Mapping[str, float | None]]) -> dict[str, float | None]:
    """Mean of each key over the rows (CompressAI averages per-image values); ``None`` values
    (MS-SSIM of a too-small image) are left out, a key with none left is ``None``."""
    out: dict[str, float | None] = {}
    for key, first in rows[0].items():
        if isinstance(first, str):
            continue
        values = [float(r[key]) for r in rows if r.get(key) is not None and not isinstance(r[key], str)]
        values = [v for v in values if math.isfinite(v)]
        out[key] = sum(values) / len(values) if values else None
    return out
