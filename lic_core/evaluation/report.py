"""Turn measurements into CompressAI result files and a printed table.

Checkpoints of one recipe and metric (at different lambdas) form one curve named after the
recipe; each anchor (JPEG, WebP) is one curve over its quality sweep.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from lic_core.evaluation.records import RESULT_KEYS, mean_record
from lic_core.evaluation.results import Curve, curve_from_points, shown_path


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("_") or "curve"


def checkpoint_label(meta: Mapping[str, str], path: Path) -> tuple[str, dict[str, Any]]:
    """(curve name, point info) from a checkpoint's lic metadata."""
    recipe = json.loads(meta.get("lic.recipe", "{}"))
    metric = json.loads(meta["lic.metric"]) if meta.get("lic.metric", "").startswith('"') else meta.get("lic.metric")
    name = str(recipe.get("name") or path.stem)
    if metric:
        name = f"{name} ({metric})"
    info: dict[str, Any] = {"checkpoint": shown_path(path)}
    for key in ("lambda", "step"):
        if f"lic.{key}" in meta:
            try:
                info[key] = json.loads(meta[f"lic.{key}"])
            except json.JSONDecodeError:
                info[key] = meta[f"lic.{key}"]
    return name, info


def curve_of(name: str, description: str, points: Sequence[Mapping[str, Any]]) -> Curve:
    """A result-format curve from mean records (extra keys such as ``lambda`` kept as lists)."""
    return curve_from_points(name, description, [{k: p[k] for k in p if isinstance(p[k], (int, float)) or p[k] is None} for p in points])


def table(curves: Sequence[tuple[Curve, Sequence[str]]]) -> str:
    """A plain-text table: one row per rate point of every curve."""
    head = f"{'codec':34s} {'point':>14s} {'bpp':>8s} {'PSNR':>8s} {'MS-SSIM':>8s} {'enc s':>8s} {'dec s':>8s}"
    lines = [head, "-" * len(head)]
    for curve, labels in curves:
        r = curve.results
        for i in range(len(r["bpp"])):
            ms = r.get("ms-ssim-rgb", [None] * (i + 1))[i]
            lines.append(
                f"{curve.name[:34]:34s} {labels[i][:14]:>14s} {r['bpp'][i]:8.4f} {r['psnr-rgb'][i]:8.3f} "
                f"{'-' if ms is None else f'{ms:.5f}':>8s} {r['encoding_time'][i]:8.4f} {r['decoding_time'][i]:8.4f}"
            )
    return "\n".join(lines)


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in mean_record(rows).items() if k in RESULT_KEYS or k == "bytes"}
