"""pytest plugin of lic (entry point ``pytest11: lic``), loaded in every pytest run of an
environment where lic-core is installed, so it stays light (no torch at import).

It adds a report-header line with the discovered plugins and their status, and fixtures:

- ``lic_registry``: a freshly discovered :class:`~lic_core.discovery.Registry`;
- ``lic_build``: ``lic_build("myplugin.block", channels=8)`` builds a component from its
  ``example`` parameters (overridable), the way the conformance kit does.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Keep CompressAI's import quiet in tests too (pytest resets the process's filters)."""
    from lic_core._quiet import PYTEST_FILTER

    config.addinivalue_line("filterwarnings", PYTEST_FILTER)


def pytest_report_header(config: pytest.Config) -> str | None:
    try:
        from lic_core.discovery import Registry
        from lic_core.version import __version__

        registry = Registry(strict=False).load_entry_points()
    except Exception as exc:  # the header must never break a test run
        return f"lic: discovery failed: {type(exc).__name__}: {exc}"
    records = sorted(registry.plugins.values(), key=lambda p: p.name)
    plugins = ", ".join(p.name if p.status == "ok" else f"{p.name} ({p.status})" for p in records)
    return f"lic-core {__version__}, plugins: {plugins or 'none'}"


@pytest.fixture
def lic_registry():
    """A registry discovered afresh for this test (honours LIC_DISABLE_PLUGINS/LIC_STRICT_PLUGINS)."""
    from lic_core.discovery import Registry

    return Registry().load_entry_points()


@pytest.fixture
def lic_build() -> Callable[..., Any]:
    """Build a component by id from its ``example`` parameters, with overrides."""
    from lic_core.discovery import get_registry

    def build(component_id: str, seed: int = 0, **overrides: Any) -> Any:
        from lic_core.testing.checks.common import build_example

        return build_example(get_registry().component(component_id), seed=seed, **overrides)

    return build
