"""Plugin-level checks (light): discovery loaded the plugin, and its entry module imports
without torch."""

from __future__ import annotations

import os
import subprocess
import sys

from lic_core.testing.result import CheckFailed


def _record(plugin: str):
    from lic_core.discovery import get_registry

    record = get_registry().plugins.get(plugin)
    if record is None:
        raise CheckFailed(f"plugin {plugin!r} is not installed (no entry point in group 'lic'; see `lic plugins list`)")
    return record


def check_discovery(plugin: str) -> str:
    record = _record(plugin)
    if record.status != "ok":
        raise CheckFailed(f"plugin {plugin!r} ({record.distribution}) is {record.status}: {record.error}")
    return f"{record.distribution} {record.version}: {len(record.components)} components, {len(record.recipes)} recipes"


def check_light_entry(plugin: str) -> str:
    module = _record(plugin).module.split(":", 1)[0]
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        "heavy = sorted(m for m in ('torch', 'compressai', 'timm') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CheckFailed(f"importing entry module {module!r} failed: {last}")
    heavy = proc.stdout.strip()
    if heavy:
        raise CheckFailed(f"importing entry module {module!r} imports {heavy} (it must stay light)")
    return f"{module} imports without torch"
