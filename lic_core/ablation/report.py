"""An ablation's results: per evaluation set, one CompressAI-format curve per variant, an RD
plot, and per variant its BD-rate against the control (cubic and pchip; PSNR and MS-SSIM in
dB), the parameters and MACs per pixel it adds, and its encode and decode times."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lic_core.ablation.job import RESULT
from lic_core.ablation.runner import Job
from lic_core.ablation.spec import BASE, CONTROL, AblationSpec
from lic_core.evaluation.bdrate import MIN_POINTS, bd_rate
from lic_core.evaluation.results import Curve, curve_from_points, write_curve

METRICS = {"psnr": "psnr", "ms-ssim": "ms-ssim-db"}  # BD over MS-SSIM in dB, as papers report it


def _results(jobs: list[Job]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{variant: {point: result}}`` of the finished jobs, in the plan's point order."""
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for job in jobs:
        if job.done:
            results.setdefault(job.variant, {})[job.point] = json.loads((job.dir / RESULT).read_text())
    return results


def _curve(spec: AblationSpec, variant: str, name: str, rows: list[dict[str, Any]]) -> Curve:
    points = [{**r["eval"][name]["mean"], "lambda": r["lambda"]} for r in rows]
    return curve_from_points(variant, f"lic ablate {spec.name}: {variant} on {name}, coded through .lic files", points)


def _costs(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "points": len(rows),
        "parameters": max(r["parameters"] for r in rows),
        "macs_per_pixel": max(r["macs_per_pixel"] for r in rows),
        "train_minutes": [round(r["train_seconds"] / 60, 1) for r in rows],
    }


def _bd(ref: Curve, test: Curve, metric: str, method: str) -> float | None:
    if min(len(ref.bpp), len(test.bpp)) < MIN_POINTS[method]:
        return None
    try:
        return bd_rate(ref.bpp, ref.metric(metric), test.bpp, test.metric(metric), method)
    except Exception:  # no overlap, or a metric missing at some point: no number rather than a wrong one
        return None


def _bd_rates(
    spec: AblationSpec, name: str, ref_name: str, ref: dict[str, Any], variant: str, test: dict[str, Any], points: list[str]
) -> dict[str, float | None]:
    """BD-rates (both metrics, both fits) of ``test`` against ``ref`` on the rate points ``points``."""
    test_c = _curve(spec, variant, name, [test[p] for p in points])
    ref_c = _curve(spec, ref_name, name, [ref[p] for p in points])
    return {f"bd_rate_{m}_{method}": _bd(ref_c, test_c, key, method) if points else None
            for m, key in METRICS.items() for method in MIN_POINTS}  # fmt: skip


def _mean_ms(curve: Curve, key: str) -> float:
    values = [v for v in curve.results.get(key, []) if v is not None]
    return 1000 * sum(values) / len(values) if values else float("nan")


def summarize(spec: AblationSpec, jobs: list[Job]) -> dict[str, Any]:
    """Every number of the report (also written as ``report.json``). A BD-rate compares only
    the rate points both curves have (``bd_points``), so a variant whose runs are not all done
    is measured against the same points of its reference."""
    results = _results(jobs)
    costs = {variant: _costs(list(by_point.values())) for variant, by_point in results.items()}
    control = costs.get(CONTROL)
    rows, curves = [], {name: {} for name in spec.eval}
    for variant, by_point in results.items():
        row: dict[str, Any] = {"variant": variant, **costs[variant]}
        if control is not None and variant != BASE:
            row["parameters_added"] = costs[variant]["parameters"] - control["parameters"]
            row["macs_per_pixel_added"] = costs[variant]["macs_per_pixel"] - control["macs_per_pixel"]
        ref_name = BASE if variant == CONTROL else CONTROL  # the control is measured against the base
        ref = results.get(ref_name) if variant != BASE else None
        common = [p for p in by_point if ref is not None and p in ref]
        row["bd_points"] = common
        for name in spec.eval:
            curve = curves[name][variant] = _curve(spec, variant, name, list(by_point.values()))
            row[name] = {"against": ref_name if ref is not None else None,
                         "encode_ms": _mean_ms(curve, "encoding_time"), "decode_ms": _mean_ms(curve, "decoding_time")}  # fmt: skip
            if ref is not None:
                row[name].update(_bd_rates(spec, name, ref_name, ref, variant, by_point, common))
            if variant not in (BASE, CONTROL) and CONTROL in results and BASE in results:
                on = [p for p in common if p in results[BASE]]  # what fine-tuning alone buys, on these points
                gain = _bd_rates(spec, name, BASE, results[BASE], CONTROL, results[CONTROL], on)
                row[name]["control_vs_base_psnr_pchip"] = gain["bd_rate_psnr_pchip"]
        rows.append(row)
    order = {BASE: 0, CONTROL: 1}
    rows.sort(key=lambda r: (order.get(r["variant"], 2), r["variant"]))
    return {"name": spec.name, "budget": spec.source.get("budget"), "points": [p.name for p in spec.points],
            "rows": rows, "curves": {n: {v: c.to_json() for v, c in cs.items()} for n, cs in curves.items()}}  # fmt: skip


def _fmt(value: float | None, unit: str = "%") -> str:
    return "n/a" if value is None or value != value else f"{value:+.2f}{unit}"


def markdown(summary: dict[str, Any], eval_sets: list[str]) -> str:
    lines = [f"# Ablation {summary['name']}", "",
             f"Budget per run: {json.dumps(summary['budget'])}; rate points: {', '.join(summary['points'])}.",
             "BD-rate of each variant against the control (the base recipe fine-tuned with the same budget, seed and "
             "data order); the control's row is against the base checkpoints as shipped (what fine-tuning alone buys). "
             "Negative: fewer bits at equal quality.", ""]  # fmt: skip
    for name in eval_sets:
        lines += [f"## {name}", "",
                  "| variant | vs | on | BD PSNR cubic | BD PSNR pchip | BD MS-SSIM cubic | BD MS-SSIM pchip | params added | MACs/px added | enc ms | dec ms | train min |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        for row in summary["rows"]:
            r = row[name]
            added = "" if "parameters_added" not in row else f"{row['parameters_added']:+,}"
            macs = "" if "macs_per_pixel_added" not in row else f"{row['macs_per_pixel_added']:+,.0f}"
            lines.append(
                f"| {row['variant']} | {r['against'] or '-'} | {','.join(row['bd_points']) or '-'} | {_fmt(r.get('bd_rate_psnr_cubic'))} | {_fmt(r.get('bd_rate_psnr_pchip'))} "
                f"| {_fmt(r.get('bd_rate_ms-ssim_cubic'))} | {_fmt(r.get('bd_rate_ms-ssim_pchip'))} | {added} | {macs} "
                f"| {r['encode_ms']:.0f} | {r['decode_ms']:.0f} | {', '.join(map(str, row['train_minutes']))} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_report(spec: AblationSpec, jobs: list[Job], out: Path) -> dict[str, Any]:
    """``report.json``, ``report.md``, ``curves/SET/VARIANT.json`` (CompressAI format) and
    ``rd-SET.png`` in ``out``."""
    from lic_core.evaluation.plot import plot_rd

    summary = summarize(spec, jobs)
    (out / "report.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "report.md").write_text(markdown(summary, list(spec.eval)))
    for name, by_variant in summary["curves"].items():
        curves = [Curve(c["name"], c["description"], c["results"]) for c in by_variant.values()]
        for curve in curves:
            write_curve(curve, out / "curves" / name / f"{curve.name}.json")
        if curves:
            plot_rd(curves, out / f"rd-{name}.png", title=f"{spec.name}: {name}")
    return summary
