"""Summarize the training logs of compare_cca.sh: per run, the logged steps' bpp, PSNR and the
cca.loss diagnostics (R_main, R_aux, L_cca, auxfit, floor, floor_main), into one small JSON and a
Markdown table of the floor fraction and L_cca through the run.

    python plugins/lic-cca/benchmarks/summarize_logs.py /tmp/cca-compare plugins/lic-cca/benchmarks/results
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEYS = ("bpp", "psnr")
TERM = ("R_main", "R_aux", "L_cca", "auxfit", "floor", "floor_main")
TABLE_STEPS = (10, 20, 40, 60, 120)


def summarize(log: Path) -> dict:
    rows = [json.loads(line) for line in log.open()]
    train = [r for r in rows if r.get("event") == "train"]
    series: dict[str, list] = {"step": [r["step"] for r in train]}
    for k in KEYS:
        series[k] = [round(r[k], 4) for r in train]
    for k in TERM:
        if any(f"cca.loss/{k}" in r for r in train):
            series[k] = [round(r[f"cca.loss/{k}"], 4) for r in train]
    return series


def main(src: str, dst: str) -> None:
    out = Path(dst)
    out.mkdir(parents=True, exist_ok=True)
    runs = {f"{log.parent.name}/{log.name[: -len('.log.jsonl')]}": summarize(log)
            for log in sorted(Path(src).glob("*/*.log.jsonl"))}  # fmt: skip
    (out / "training_logs.json").write_text(json.dumps(runs, indent=0) + "\n")
    lines = ["| run | " + " | ".join(f"floor / L_cca @ {s}" for s in TABLE_STEPS) + " |",
             "|---|" + "---|" * len(TABLE_STEPS)]  # fmt: skip
    for name, s in runs.items():
        if "floor" not in s:
            continue
        cells = []
        for step in TABLE_STEPS:
            i = s["step"].index(step) if step in s["step"] else None
            cells.append("-" if i is None else f"{100 * s['floor'][i]:.1f}% / {s['L_cca'][i]:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    (out / "floor.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:3])
