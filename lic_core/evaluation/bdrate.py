"""Bjontegaard delta rate and delta PSNR between two rate-distortion curves.

Two methods:

- ``cubic``: the classic VCEG-M33 computation (what CompressAI's and most papers' scripts use):
  a cubic polynomial least-squares fit of log-rate against PSNR (or PSNR against log-rate),
  integrated analytically over the overlapping interval;
- ``pchip``: a piecewise cubic Hermite interpolant through the points (VCEG-AL22 style,
  no overshoot between points), integrated exactly; it needs only 2 points per curve, the
  cubic fit 4.

Rates are in any unit (bpp); ``bd_rate`` is in percent (negative: the test curve needs fewer
bits for the same quality), ``bd_psnr`` in dB (positive: the test curve is better).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

METHODS = ("cubic", "pchip")


MIN_POINTS = {"cubic": 4, "pchip": 2}  # a cubic fit needs 4 points; an interpolant 2


def _prepare(
    rate: Sequence[float], dist: Sequence[float], what: str, method: str, rate_range: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rate, dtype=np.float64)
    d = np.asarray(dist, dtype=np.float64)
    if r.shape != d.shape or r.ndim != 1:
        raise ValueError(f"{what}: rate and distortion must be 1-D lists of the same length")
    where = ""
    if rate_range is not None:
        keep = (r >= rate_range[0]) & (r <= rate_range[1])
        r, d = r[keep], d[keep]
        where = f" between {rate_range[0]:g} and {rate_range[1]:g}"
    need = MIN_POINTS.get(method, 4)
    if r.size < need:
        raise ValueError(f"{what}: {method} BD needs at least {need} rate-distortion points{where}, got {r.size}")
    if np.any(r <= 0) or not np.all(np.isfinite(r)) or not np.all(np.isfinite(d)):
        raise ValueError(f"{what}: rates must be positive and every value finite")
    order = np.argsort(r)
    return np.log(r[order]), d[order]


def _mean_gap(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray, method: str) -> tuple[float, float, float]:
    """Mean of ``y2(x) - y1(x)`` over the overlap of ``x1`` and ``x2``, with the overlap."""
    lo, hi = max(x1.min(), x2.min()), min(x1.max(), x2.max())
    if hi <= lo:
        raise ValueError("the two curves do not overlap: BD is undefined")
    if method == "cubic":
        areas = []
        for x, y in ((x1, y1), (x2, y2)):
            p = np.polyint(np.polyfit(x, y, 3))
            areas.append(np.polyval(p, hi) - np.polyval(p, lo))
    elif method == "pchip":
        from scipy.interpolate import PchipInterpolator

        areas = []
        for x, y in ((x1, y1), (x2, y2)):
            order = np.argsort(x)
            xs, ys = x[order], y[order]
            keep = np.concatenate(([True], np.diff(xs) > 0))  # pchip needs strictly increasing x
            areas.append(float(PchipInterpolator(xs[keep], ys[keep]).integrate(lo, hi)))
    else:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return float((areas[1] - areas[0]) / (hi - lo)), float(lo), float(hi)


def bd_rate(
    rate_ref: Sequence[float], psnr_ref: Sequence[float], rate_test: Sequence[float], psnr_test: Sequence[float],
    method: str = "cubic",
) -> float:
    """Average rate difference (percent) of the test curve at equal quality."""
    lr1, d1 = _prepare(rate_ref, psnr_ref, "reference", method)
    lr2, d2 = _prepare(rate_test, psnr_test, "test", method)
    gap, _, _ = _mean_gap(d1, lr1, d2, lr2, method)
    return float((np.exp(gap) - 1.0) * 100.0)


def bd_psnr(
    rate_ref: Sequence[float], psnr_ref: Sequence[float], rate_test: Sequence[float], psnr_test: Sequence[float],
    method: str = "cubic",
) -> float:
    """Average quality difference (dB, or the metric's unit) of the test curve at equal rate."""
    lr1, d1 = _prepare(rate_ref, psnr_ref, "reference", method)
    lr2, d2 = _prepare(rate_test, psnr_test, "test", method)
    gap, _, _ = _mean_gap(lr1, d1, lr2, d2, method)
    return gap


def bd_metrics(
    rate_ref: Sequence[float], psnr_ref: Sequence[float], rate_test: Sequence[float], psnr_test: Sequence[float],
    method: str = "cubic", rate_range: tuple[float, float] | None = None,
) -> dict[str, float]:
    """``{"bd_rate", "bd_psnr"}`` plus the overlapping quality and log-rate intervals used.

    ``rate_range``: ``(low, high)``: only the points of each curve within it count (a BD-rate
    over the high rates alone, say); the fit, the interpolation and the overlap use those.
    """
    lr1, d1 = _prepare(rate_ref, psnr_ref, "reference", method, rate_range)
    lr2, d2 = _prepare(rate_test, psnr_test, "test", method, rate_range)
    rate_gap, q_lo, q_hi = _mean_gap(d1, lr1, d2, lr2, method)
    psnr_gap, r_lo, r_hi = _mean_gap(lr1, d1, lr2, d2, method)
    return {
        "bd_rate": float((np.exp(rate_gap) - 1.0) * 100.0),
        "bd_psnr": psnr_gap,
        "method": method,
        "quality_interval": [q_lo, q_hi],
        "rate_interval": [float(np.exp(r_lo)), float(np.exp(r_hi))],
        "points": [int(lr1.size), int(lr2.size)],
    }
