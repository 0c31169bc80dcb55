"""GMACs of the Tiny-LIC recipe as each of Jiang et al.'s modules is added (paper Table IV),
and of Tiny-LIC with the paper's ICRSA units.

Counts with ``torch.utils.flop_counter.FlopCounterMode`` (MACs = FLOPs / 2, convolutions and
matmuls) over the eval forward (transforms, stages and entropy model) on a 768x512 input, with
each component at its default (the paper's) sizes. It runs the real forward (random weights),
so it takes several minutes on a CPU.
Usage: python benchmarks/jiang_gmacs.py [--base tinylic] [--height 512 --width 768] [--json FILE]
"""

from __future__ import annotations

import argparse
import json

import torch
from torch.utils.flop_counter import FlopCounterMode

import lic_core

PAPER = {"baseline": 192, "+FExM": 236, "+FRM": 347, "+FEnM": 355, "+QECM": 356}
FEXM, FRM, FENM = {"id": "fexm.stage", "patch": 2}, {"id": "frm.stage"}, {"id": "fenm.stage"}
STEPS = [
    ("baseline", {}),
    ("+FExM", {"prepost": [FEXM]}),
    ("+FRM", {"prepost": [FEXM, FRM]}),
    ("+FEnM", {"prepost": [FEXM, FRM, FENM]}),
    ("+QECM", {"prepost": [FEXM, FRM, FENM], "quantizer": {"id": "qecm.quantizer"}}),
]
ICRSA = {"transform": {"unit": "icrsa"}}  # Tiny-LIC with ICRSA units (the paper gives no GMACs for it)


def gmacs(recipe: dict, height: int, width: int) -> tuple[float, float]:
    """GMACs of one eval forward at ``height`` x ``width`` and millions of coding parameters."""
    codec = lic_core.compose(recipe).eval()
    params = codec.num_parameters() / 1e6
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        codec(x)
    return counter.get_total_flops() / 2e9, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="tinylic")
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--no-icrsa", action="store_true", help="skip the ICRSA row (Tiny-LIC backbones only)")
    parser.add_argument("--json", help="write the table as JSON here")
    args = parser.parse_args()
    rows, prev, prev_paper = [], None, None
    print(f"| {args.base} at {args.width}x{args.height} | GMACs | step | paper | paper step | params (M) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, change in STEPS:
        g, p = gmacs({"base": args.base, **change}, args.height, args.width)
        step = None if prev is None else round(g - prev, 1)
        paper_step = None if prev_paper is None else PAPER[label] - prev_paper
        rows.append({"step": label, "gmacs": round(g, 1), "delta": step, "paper": PAPER[label],
                     "paper_delta": paper_step, "params_m": round(p, 2)})  # fmt: skip
        print(f"| {label} | {g:.1f} | {'' if step is None else f'{step:+.1f}'} | {PAPER[label]} | "
              f"{'' if paper_step is None else f'{paper_step:+d}'} | {p:.2f} |")  # fmt: skip
        prev, prev_paper = g, PAPER[label]
    if not args.no_icrsa:
        g, p = gmacs({"base": args.base, **ICRSA}, args.height, args.width)
        base = rows[0]
        rows.append({"step": "ICRSA units (no Jiang stages)", "gmacs": round(g, 1), "delta": round(g - base["gmacs"], 1),
                     "paper": None, "paper_delta": None, "params_m": round(p, 2)})  # fmt: skip
        print(f"| ICRSA units | {g:.1f} | {g - base['gmacs']:+.1f} (vs baseline) | - | - | {p:.2f} |")
    if args.json:
        command = f"python benchmarks/jiang_gmacs.py --base {args.base} --height {args.height} --width {args.width}"
        meta = {"base": args.base, "size": [args.width, args.height], "command": command,
                "counter": "torch.utils.flop_counter.FlopCounterMode, MACs = FLOPs / 2"}  # fmt: skip
        with open(args.json, "w") as f:
            json.dump({"setup": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
