"""CompressAI's JSON result format: one curve per file.

``{"name", "description", "results": {"bpp": [...], "psnr-rgb": [...], "ms-ssim-rgb": [...],
"encoding_time": [...], "decoding_time": [...]}}``, one list entry per rate point. Older files
use ``psnr`` instead of ``psnr-rgb``; ``kodak_rd_points.json`` (``{"curves": {name: {...}}}``)
holds several curves and is read too.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from lic_core.errors import LicError


def shown_path(path: str | os.PathLike) -> str:
    """``path`` as committed results name it: relative to the current directory (a sibling such
    as ``../shared/data/kodak`` included), or only its file name when it lies further away (a
    temporary file): never a machine's absolute path."""
    rel = os.path.relpath(os.path.abspath(path))
    return os.path.basename(os.fspath(path)) if rel.startswith(os.pardir + os.sep + os.pardir) else rel


PSNR_KEYS = ("psnr-rgb", "psnr", "psnr_rgb")
MSSSIM_KEYS = ("ms-ssim-rgb", "ms-ssim", "ms_ssim")


@dataclass
class Curve:
    """One rate-distortion curve (points sorted by rate when written)."""

    name: str
    description: str = ""
    results: dict[str, list[float | None]] = field(default_factory=dict)

    @property
    def bpp(self) -> list[float]:
        return [float(v) for v in self.results["bpp"]]

    def metric(self, key: str = "psnr") -> list[float]:
        """Values of ``psnr``, ``ms-ssim`` or ``ms-ssim-db`` (``-10 log10(1 - MS-SSIM)``) under
        whichever key the file uses, converting between MS-SSIM and its dB form."""
        if key == "ms-ssim-db":
            if "ms-ssim-db-rgb" in self.results:
                return self._values("ms-ssim-db-rgb")
            return [-10 * math.log10(max(1 - v, 1e-12)) if v == v else v for v in self.metric("ms-ssim")]
        keys = PSNR_KEYS if key.startswith("psnr") else MSSSIM_KEYS if key.startswith("ms") else (key,)
        for k in keys:
            if k in self.results:
                return self._values(k)
        if key.startswith("ms") and "ms-ssim-db-rgb" in self.results:
            return [1 - 10 ** (-v / 10) if v == v else v for v in self._values("ms-ssim-db-rgb")]
        raise LicError(f"curve {self.name!r} has no {key!r} values (keys: {', '.join(self.results)})")

    def _values(self, key: str) -> list[float]:
        return [float("nan") if v is None else float(v) for v in self.results[key]]

    def sorted(self) -> "Curve":
        order = sorted(range(len(self.results["bpp"])), key=lambda i: self.results["bpp"][i])
        return Curve(self.name, self.description, {k: [v[i] for i in order] for k, v in self.results.items()})

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "results": self.results}


def curve_from_points(name: str, description: str, points: Sequence[Mapping[str, float | None]]) -> Curve:
    """A curve from per-rate-point mean records (each with the same keys)."""
    keys = list(points[0]) if points else []
    return Curve(name, description, {k: [_clean(p.get(k)) for p in points] for k in keys}).sorted()


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def write_curve(curve: Curve, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(curve.to_json(), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def read_curves(path: str | os.PathLike) -> list[Curve]:
    """Every curve in a result file (one for CompressAI's format, several for ``curves`` files)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise LicError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, Mapping) and isinstance(data.get("results"), Mapping):
        results = {k: list(v) for k, v in data["results"].items() if isinstance(v, list)}
        if "bpp" not in results:
            raise LicError(f"{path}: results have no 'bpp' list")
        return [Curve(str(data.get("name", path.stem)), str(data.get("description", "")), results)]
    if isinstance(data, Mapping) and isinstance(data.get("curves"), Mapping):
        return [
            Curve(str(name), str(data.get("about", ""))[:80], {k: list(v) for k, v in c.items() if isinstance(v, list)})
            for name, c in data["curves"].items()
            if isinstance(c, Mapping) and "bpp" in c
        ]
    raise LicError(f"{path}: not a CompressAI result file (expected 'results' with 'bpp' and 'psnr-rgb')")


def read_curve(path: str | os.PathLike, name: str | None = None) -> Curve:
    """One curve of a file: the only one, or the one called ``name`` (``FILE:NAME`` on the CLI)."""
    curves = read_curves(path)
    if name is not None:
        for c in curves:
            if c.name == name:
                return c
        raise LicError(f"{path}: no curve named {name!r} (has: {', '.join(c.name for c in curves)})")
    if len(curves) != 1:
        raise LicError(f"{path} holds {len(curves)} curves; pick one as {path}:NAME ({', '.join(c.name for c in curves)})")
    return curves[0]


def parse_curve_arg(arg: str) -> Curve:
    """``FILE`` or ``FILE:NAME`` (a named curve inside a multi-curve file)."""
    if not Path(arg).exists() and ":" in arg:
        path, name = arg.rsplit(":", 1)
        return read_curve(path, name)
    return read_curve(arg)
