"""Rate-distortion plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from lic_core.evaluation.results import Curve


def plot_rd(
    curves: Sequence[Curve], path: str | os.PathLike, published: Sequence[Curve] = (), metric: str = "psnr",
    title: str = "",
) -> Path:
    """Measured curves as solid lines with markers, published ones dashed; PSNR or MS-SSIM vs bpp."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    for style, group in (("-o", curves), ("--", published)):
        for c in group:
            try:
                ys = c.metric(metric)
            except Exception:
                continue  # a published curve without this metric
            pts = [(b, y) for b, y in zip(c.bpp, ys) if y == y]
            if pts:
                label = c.name if style == "-o" else f"{c.name} (published)"
                ax.plot(*zip(*sorted(pts)), style, label=label, markersize=4, linewidth=1.4 if style == "-o" else 1.0)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("PSNR-RGB (dB)" if metric.startswith("psnr") else "MS-SSIM")
    ax.grid(True, alpha=0.3)
    ax.set_title(title or "rate-distortion")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
