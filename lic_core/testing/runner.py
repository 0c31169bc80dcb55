"""Which checks apply to which component, and running them (light: torch is imported only
when a check runs).

Each kind's checks live in ``lic_core.testing.checks.<kind>`` as ``check_<name>(spec)``
functions that return a short detail on success, raise :class:`CheckFailed` when the
contract does not hold and :class:`CheckSkipped` when the check does not apply.
"""

from __future__ import annotations

import importlib
import traceback
from typing import Iterable

from lic_core.specs import ComponentSpec
from lic_core.testing.result import CheckFailed, CheckResult, CheckSkipped

#: check names per component kind, in the order they run
KIND_CHECKS: dict[str, tuple[str, ...]] = {
    "transform": ("build", "shapes", "in_stride", "gradients", "modes", "safetensors"),
    "block": ("build", "shapes", "gradients", "modes", "safetensors"),
    "entropy_model": ("build", "likelihoods", "quantizer", "gradients", "modes", "coding", "safetensors", "slices"),
    "quantizer": ("build", "train", "eval", "finalize", "gradients", "safetensors"),
    "prepost": ("build", "shapes", "gradients", "modes", "safetensors"),
    "loss": ("build", "objective", "gradients", "coding_state", "safetensors"),
}
#: checks of the plugin itself (the "component" of their result is the plugin name)
PLUGIN_CHECKS: tuple[str, ...] = ("discovery", "light_entry", "models")


def _registry():
    from lic_core.discovery import get_registry

    return get_registry()


def plan(plugin: str) -> list[tuple[str, str]]:
    """``(target, check)`` pairs for a plugin: its plugin-level checks, then every check of
    every component. A plugin that is missing or failed to load gets only ``discovery``
    (which then fails with the reason)."""
    record = _registry().plugins.get(plugin)
    if record is None or record.status != "ok":
        return [(plugin, "discovery")]
    pairs = [(plugin, name) for name in PLUGIN_CHECKS]
    for spec in sorted(record.components, key=lambda c: c.id):
        pairs += [(spec.id, name) for name in KIND_CHECKS[spec.kind]]
    return pairs


def _plugin_check(plugin: str, check: str) -> str:
    from lic_core.testing.checks import plugin as plugin_checks

    return getattr(plugin_checks, f"check_{check}")(plugin)


def _component_check(spec: ComponentSpec, check: str) -> str:
    if check not in KIND_CHECKS[spec.kind]:
        raise ValueError(f"unknown check {check!r} for a {spec.kind} (checks: {', '.join(KIND_CHECKS[spec.kind])})")
    module = importlib.import_module(f"lic_core.testing.checks.{spec.kind}")
    return getattr(module, f"check_{check}")(spec)


def _run(target: str, check: str, call) -> CheckResult:
    try:
        detail = call()
    except CheckSkipped as exc:
        return CheckResult(target, check, True, str(exc), skipped=True)
    except CheckFailed as exc:
        return CheckResult(target, check, False, str(exc))
    except Exception as exc:  # a crash inside the component is a failure with its origin
        where = traceback.extract_tb(exc.__traceback__)[-1]
        origin = f" (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
        return CheckResult(target, check, False, f"{type(exc).__name__}: {exc}{origin}")
    return CheckResult(target, check, True, str(detail or ""))


def run_check(target: str, check: str) -> CheckResult:
    """Run one check on a component id (or, for plugin-level checks, a plugin name)."""
    if check in PLUGIN_CHECKS:
        return _run(target, check, lambda: _plugin_check(target, check))
    spec = _registry().component(target)
    return _run(spec.id, check, lambda: _component_check(spec, check))


def check_component(component: str | ComponentSpec, checks: Iterable[str] | None = None) -> list[CheckResult]:
    """Run every check of the component's kind (or only ``checks``) on a component id or spec."""
    spec = component if isinstance(component, ComponentSpec) else _registry().component(component)
    names = KIND_CHECKS[spec.kind] if checks is None else tuple(checks)
    return [_run(spec.id, name, lambda name=name: _component_check(spec, name)) for name in names]


def check_plugin(plugin: str) -> list[CheckResult]:
    """Run the whole kit on an installed plugin: plugin-level checks, then every component."""
    return [run_check(target, check) for target, check in plan(plugin)]
