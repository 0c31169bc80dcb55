"""``lic bdrate REF.json TEST.json``: Bjontegaard delta rate and PSNR between result files."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser(
        "bdrate",
        help="Bjontegaard delta rate/PSNR between two result files",
        description="BD-rate (percent; negative = TEST saves bits) and BD-PSNR (dB) of TEST against REF, "
        "from CompressAI-format result files (FILE:NAME picks a curve of a multi-curve file).",
    )
    p.add_argument("ref", help="reference curve (JSON result file)")
    p.add_argument("test", nargs="+", help="tested curve(s)")
    p.add_argument("--method", choices=("cubic", "pchip"), default="cubic",
                   help="cubic: classic VCEG polynomial fit (CompressAI's); pchip: piecewise cubic interpolation")
    p.add_argument("--metric", default="psnr", choices=("psnr", "ms-ssim", "ms-ssim-db"),
                   help="quality axis (default psnr; ms-ssim-db = -10 log10(1 - MS-SSIM))")
    p.add_argument("--min-bpp", type=float, default=0.0, metavar="BPP",
                   help="use only the points of each curve at or above this rate (e.g. 0.5: the high rates alone)")
    p.add_argument("--max-bpp", type=float, default=float("inf"), metavar="BPP",
                   help="use only the points of each curve at or below this rate")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lic_core.errors import LicError
    from lic_core.evaluation.bdrate import bd_metrics
    from lic_core.evaluation.results import parse_curve_arg

    ref = parse_curve_arg(args.ref)
    if not 0 <= args.min_bpp < args.max_bpp:
        raise LicError(f"--min-bpp ({args.min_bpp:g}) must be at least 0 and below --max-bpp ({args.max_bpp:g})")
    limited = args.min_bpp > 0 or args.max_bpp < float("inf")
    rows = []
    for test_arg in args.test:
        test = parse_curve_arg(test_arg)
        try:
            m = bd_metrics(ref.bpp, ref.metric(args.metric), test.bpp, test.metric(args.metric), args.method,
                           (args.min_bpp, args.max_bpp) if limited else None)
        except ValueError as exc:
            raise LicError(f"{test.name} vs {ref.name}: {exc}") from None
        rows.append({"reference": ref.name, "test": test.name, "metric": args.metric, **m})
        if args.metric != "psnr":
            rows[-1]["bd_" + args.metric.replace("-", "_")] = rows[-1]["bd_psnr"]
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
    else:
        unit = "" if args.metric == "ms-ssim" else "dB"
        span = f", {args.min_bpp:g}-{args.max_bpp:g} bpp" if limited else ""
        for r in rows:
            print(f"{r['test']} vs {r['reference']} ({args.method}{span}): BD-rate {r['bd_rate']:+.2f}%  "
                  f"BD-{args.metric.upper()} {r['bd_psnr']:+.4f}{unit}")  # fmt: skip
    return 0
