"""Listing helpers of the Python API (light: no torch)."""

from __future__ import annotations

from lic_core.discovery import PluginRecord, get_registry
from lic_core.specs import ComponentSpec


def list_components(kind: str | None = None, pattern: str | None = None) -> list[ComponentSpec]:
    """Components of every loaded plugin, optionally of one kind and matching a glob pattern."""
    return get_registry().list_components(kind=kind, pattern=pattern)


def list_plugins() -> list[PluginRecord]:
    """Every plugin discovery found, whatever its status."""
    return sorted(get_registry().plugins.values(), key=lambda p: (p.name != "core", p.name))
