"""The catalogue of first-party plugins (``registry.yaml``), used to tell a user which
distribution provides an id they do not have installed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lic_core.discovery import Registry

CATALOG_PATH = Path(__file__).resolve().parent.parent / "registry.yaml"


@lru_cache(maxsize=1)
def load_catalog(path: Path = CATALOG_PATH) -> list[dict[str, Any]]:
    """The plugins listed in registry.yaml (empty when the file is not shipped)."""
    if not path.is_file():
        return []
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    return list(data.get("plugins", []))


def provider_hint(key: str, registry: Registry | None = None) -> str:
    """How to get ``key`` (a component id, alias or recipe name), or '' when nobody knows."""
    prefix = key.split(".", 1)[0]
    if registry is not None and prefix in registry.plugins:
        rec = registry.plugins[prefix]
        if rec.status != "ok":
            return f"plugin {prefix!r} ({rec.distribution}) is installed but {rec.status}: {rec.error}"
    for entry in load_catalog():
        ids = [c["id"] for c in entry.get("components", [])] + list(entry.get("recipes", []))
        if key in ids or any(i.split(".", 1)[-1] == key for i in ids) or entry.get("name") == prefix:
            return f"it is provided by {entry['distribution']}: pip install ./{entry['path']}"
    return "no installed plugin or registry.yaml entry provides it (see `lic plugins list`)"
