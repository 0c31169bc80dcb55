"""Wall time of ``lic plugins list`` with every plugin installed, with only the core, and of a bare
``import lic_core``; each mode is also checked not to import torch.

Listing plugins reads entry points and light ``plugin.py`` modules only, so its cost should stay
close to the interpreter's start-up whatever is installed. Modes: ``all`` (every installed plugin,
first-party and the example third-party one), ``core`` (``LIC_DISABLE_PLUGINS`` names every other
plugin, so only the core loads) and ``import`` (``python -c "import lic_core"``, the floor). Runs
alternate between modes so a change in background load hits them alike. Bytecode is cached (in a
temporary ``PYTHONPYCACHEPREFIX``, whatever ``PYTHONDONTWRITEBYTECODE`` says) as it is for an
installed package; otherwise every run would compile lic_core and each plugin from source.

    .venv/bin/python benchmarks/plugins_list.py --repeats 10 --out-dir benchmarks/results --note "..."
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

LIC = str(Path(sys.executable).parent / "lic")  # the console script installed next to this interpreter

# Runs the CLI in-process (as ``lic`` does) and reports what it loaded: torch, and plugin statuses.
CHECK_CLI = """
import contextlib, io, json, sys
from collections import Counter
from lic_core.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["plugins", "list"]) == 0
with contextlib.redirect_stdout(io.StringIO()) as out:
    assert main(["plugins", "list", "--json"]) == 0
statuses = Counter(p["status"] for p in json.loads(out.getvalue()))
print(json.dumps({"torch_imported": "torch" in sys.modules, "plugins": dict(statuses)}))
"""
CHECK_IMPORT = """
import json, sys
import lic_core
print(json.dumps({"torch_imported": "torch" in sys.modules, "plugins": {}}))
"""


def plugin_names() -> list[str]:
    """Names of every discoverable plugin except the core, from ``lic plugins list --json``."""
    out = subprocess.run([LIC, "plugins", "list", "--json"], env=_env(), capture_output=True, text=True, check=True)
    return [p["name"] for p in json.loads(out.stdout) if p["name"] != "core"]


def modes(others: list[str]) -> dict[str, tuple[list[str], dict[str, str], str]]:
    """Mode name -> (timed command, environment, in-process check script)."""
    core_only = _env(LIC_DISABLE_PLUGINS=",".join(others))
    return {
        "all": ([LIC, "plugins", "list"], _env(), CHECK_CLI),
        "core": ([LIC, "plugins", "list"], core_only, CHECK_CLI),
        "import": ([sys.executable, "-c", "import lic_core"], _env(), CHECK_IMPORT),
    }


def measure(repeats: int, others: list[str]) -> dict[str, dict]:
    """Time every mode ``repeats`` times (after one untimed warm-up each) and check its imports."""
    table = modes(others)
    times: dict[str, list[float]] = {name: [] for name in table}
    for run in range(repeats + 1):
        for name, (cmd, env, _) in table.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            if run:  # run 0 fills the bytecode and file caches
                times[name].append(time.perf_counter() - start)
    results = {}
    for name, (cmd, env, check) in table.items():
        out = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True)
        results[name] = {
            "command": _short(cmd),
            "median_s": statistics.median(times[name]),
            "min_s": min(times[name]),
            "times_s": times[name],
            **json.loads(out.stdout),
        }
    return results


def markdown(report: dict) -> str:
    """A short table of the results, with the conditions they were taken under."""
    lines = [
        "# `lic plugins list` wall time",
        "",
        f"{report['repeats']} runs per mode (alternating modes, after one warm-up each), Python "
        f"{report['python']}, {report['cpus']} CPUs, load average {report['loadavg_start']:.2f} at start "
        f"and {report['loadavg_end']:.2f} at the end. {report['note']}".rstrip(),
        "",
        "| mode | command | median s | min s | plugins | torch imported |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in report["modes"].items():
        plugins = ", ".join(f"{n} {s}" for s, n in sorted(r["plugins"].items())) or "-"
        lines.append(f"| {name} | `{r['command']}` | {r['median_s']:.3f} | {r['min_s']:.3f} | {plugins} | "
                     f"{'yes' if r['torch_imported'] else 'no'} |")  # fmt: skip
    lines += ["", f"`core` sets `LIC_DISABLE_PLUGINS={','.join(report['disabled'])}`.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--note", default="", help="conditions to record next to the numbers (e.g. other load)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lic-pycache-") as cache:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = cache  # children inherit it through _env()
        others = plugin_names()
        loadavg_start = os.getloadavg()[0]
        results = measure(args.repeats, others)
    report = {
        "repeats": args.repeats,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_start": loadavg_start,
        "loadavg_end": os.getloadavg()[0],
        "note": args.note,
        "disabled": others,
        "modes": results,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "plugins_list.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (args.out_dir / "plugins_list.md").write_text(text)
    print(text)
    if any(r["torch_imported"] for r in results.values()):
        sys.exit("torch was imported by at least one mode")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LIC_DISABLE_PLUGINS", "LIC_STRICT_PLUGINS")}
    return {**env, **extra}


def _short(cmd: list[str]) -> str:
    """The command without absolute paths to the venv's executables (the table is about what runs)."""
    return shlex.join(Path(word).name if os.sep in word else word for word in cmd)


if __name__ == "__main__":
    main()
