"""Classic-codec anchors measured here: JPEG and WebP through Pillow over a quality sweep.

Pillow's defaults are kept apart from the quality (JPEG: 4:2:0 chroma subsampling, baseline;
WebP: lossy, ``method=4``), so the curves are what a user gets from ``Image.save``.

An :class:`AnchorCache` keeps per-image records on disk, so a sweep is computed once: a record
is keyed by the image's 8-bit pixels, the format, the quality, the metrics and the versions of
Pillow and its JPEG/WebP libraries (a different library version recomputes, as it may code
differently). Cached records keep the coding times measured when they were made.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from lic_core.evaluation.metrics import ms_ssim, psnr

ANCHORS = {"jpeg": "JPEG", "webp": "WEBP"}
DEFAULT_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)


def _to_pil(x: Tensor) -> Image.Image:
    array = x[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array)


def _from_pil(img: Image.Image) -> Tensor:
    array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)


def code_image(x: Tensor, fmt: str, quality: int, msssim: bool = True) -> dict[str, float | None]:
    """Encode and decode one (1, 3, H, W) image with Pillow; bpp from the file size.
    ``msssim=False`` skips MS-SSIM (most of the time of a sweep on full-size images)."""
    if fmt not in ANCHORS:
        raise ValueError(f"unknown anchor {fmt!r} (known: {', '.join(ANCHORS)})")
    img = _to_pil(x)
    buf = io.BytesIO()
    t0 = time.perf_counter()
    img.save(buf, format=ANCHORS[fmt], quality=int(quality))
    t1 = time.perf_counter()
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as dec:
        dec.load()
        t2 = time.perf_counter()
        x_hat = _from_pil(dec)
    x8 = _from_pil(img)
    pixels = x.shape[-2] * x.shape[-1]
    return {"bpp": len(data) * 8 / pixels, "psnr-rgb": psnr(x8, x_hat),
            **({"ms-ssim-rgb": ms_ssim(x8, x_hat)} if msssim else {}),
            "encoding_time": t1 - t0, "decoding_time": t2 - t1}  # fmt: skip


def _library_versions() -> str:
    from PIL import __version__, features

    return f"Pillow {__version__}, " + ", ".join(f"{f} {features.version(f)}" for f in ("jpg", "webp"))


def _valid(record: Any) -> bool:
    return isinstance(record, dict) and all(
        isinstance(record.get(k), (int, float)) for k in ("bpp", "psnr-rgb", "encoding_time", "decoding_time")
    )


class AnchorCache:
    """Per-image anchor records in a JSON file (see the module doc); :meth:`save` writes it
    atomically. A missing or unreadable file is an empty cache (it is only a cache)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.versions = _library_versions()
        try:
            data = json.loads(self.path.read_text())
            records = dict(data["records"]) if data.get("versions") == self.versions else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            records = {}
        self.records: dict[str, dict[str, Any]] = {k: r for k, r in records.items() if _valid(r)}
        self._dirty = False

    @staticmethod
    def key(x: Tensor, fmt: str, quality: int, msssim: bool) -> str:
        pixels = x[0].clamp(0, 1).mul(255).round().byte().cpu().numpy().tobytes()
        digest = hashlib.sha256(pixels + str(tuple(x.shape)).encode()).hexdigest()[:32]
        return f"{digest}/{fmt}/{int(quality)}/{'ms-ssim' if msssim else 'psnr'}"

    def code(self, x: Tensor, fmt: str, quality: int, msssim: bool = True) -> dict[str, float | None]:
        """:func:`code_image`'s record, from the cache when there."""
        k = self.key(x, fmt, quality, msssim)
        if k not in self.records:
            self.records[k] = code_image(x, fmt, quality, msssim)
            self._dirty = True
        return dict(self.records[k])

    def save(self) -> None:
        if not self._dirty:
            return
        from lic_core.atomic import atomic_write_bytes

        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"versions": self.versions, "records": self.records}, indent=0, sort_keys=True)
        atomic_write_bytes(self.path, (text + "\n").encode())
        self._dirty = False


def sweep(
    images: Sequence[Tensor], fmt: str, qualities: Iterable[int] = DEFAULT_QUALITIES,
    on_image: Callable[[], None] | None = None, msssim: bool = True, cache: AnchorCache | None = None,
) -> list[dict[str, float | None]]:
    """One mean record per quality (``quality`` included), averaged over ``images``; records
    come from ``cache`` when given (then saved to it), and MS-SSIM only with ``msssim``."""
    from lic_core.evaluation.records import mean_record

    if images:
        code_image(images[0], fmt, 50, msssim=False)  # warm-up: the codec library's first call is slower
    points = []
    for q in qualities:
        rows = []
        for x in images:
            rows.append(cache.code(x, fmt, q, msssim) if cache is not None else code_image(x, fmt, q, msssim))
            if on_image is not None:
                on_image()
        points.append({**mean_record(rows), "quality": float(q)})
    if cache is not None:
        cache.save()
    return points
