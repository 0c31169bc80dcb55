"""GMACs of the Tiny-LIC recipe as each of Jiang et al.'s modules is added (paper Table IV).

Counts with ``torch.utils.flop_counter.FlopCounterMode`` (MACs = FLOPs / 2) over the eval
forward (transforms, stages and entropy model) on a 768x512 input. It runs the real forward
(random weights), so it takes a few minutes on a CPU. Usage: python benchmarks/jiang_gmacs.py [--height 512 --width 768]
"""

from __future__ import annotations

import argparse
import json

import torch
from torch.utils.flop_counter import FlopCounterMode

import lic_core

PAPER = {"baseline": 192, "+FExM": 236, "+FRM": 347, "+FEnM": 355, "+QECM": 356}
STEPS = [
    ("baseline", {}),
    ("+FExM", {"prepost": [{"id": "fexm.stage", "patch": 2}]}),
    ("+FRM", {"prepost": [{"id": "fexm.stage", "patch": 2}, {"id": "frm.stage"}]}),
    ("+FEnM", {"prepost": [{"id": "fexm.stage", "patch": 2}, {"id": "frm.stage"}, {"id": "fenm.stage"}]}),
    ("+QECM", {"prepost": [{"id": "fexm.stage", "patch": 2}, {"id": "frm.stage"}, {"id": "fenm.stage"}],
               "quantizer": {"id": "qecm.quantizer"}}),
]  # fmt: skip


def gmacs(recipe: dict, height: int, width: int) -> tuple[float, float]:
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
    parser.add_argument("--json", help="write the table as JSON here")
    args = parser.parse_args()
    rows = []
    print(f"| {args.base} at {args.width}x{args.height} | GMACs (lic) | GMACs (paper) | params (M) |\n|---|---|---|---|")
    for label, change in STEPS:
        g, p = gmacs({"base": args.base, **change}, args.height, args.width)
        rows.append({"step": label, "gmacs": round(g, 1), "paper": PAPER[label], "params_m": round(p, 2)})
        print(f"| {label} | {g:.1f} | {PAPER[label]} | {p:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
