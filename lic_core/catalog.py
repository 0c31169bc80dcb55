"""The catalogue of first-party plugins (``registry.yaml``), used to tell a user which
distribution provides an id they do not have installed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lic_core.discovery import Registry

CATALOG_PATH = Path(__file__).resolve().parent.parent / "registry.yaml"


def load_catalog(path: Path | None = None) -> list[dict[str, Any]]:
    """The plugins listed in registry.yaml (empty when the file is not shipped)."""
    return _read_catalog(Path(path or CATALOG_PATH))


@lru_cache(maxsize=4)
def _read_catalog(path: Path) -> list[dict[str, Any]]:
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
        if "." in key:
            comps = ", ".join(sorted(c.id for c in rec.components)) or "none"
            recipes = ", ".join(sorted(r.name for r in rec.recipes)) or "none"
            return f"plugin {prefix!r} ({rec.distribution} {rec.version}) provides components {comps}; recipes {recipes}"
    for entry in load_catalog():
        ids = [c["id"] for c in entry.get("components", [])] + list(entry.get("recipes", [])) + list(entry.get("models", []))
        if key in ids or any(i.split(".", 1)[-1] == key for i in ids) or entry.get("name") == prefix:
            return f"it is provided by {entry['distribution']}: pip install ./{entry['path']}"
    return "no installed plugin or registry.yaml entry provides it (see `lic plugins list`)"


# -- rendering registry.yaml from discovery ------------------------------------------------
REPO_ROOT = CATALOG_PATH.parent
FIRST_PARTY_DIRS = ("plugins", "examples")
HEADER = (
    "# Catalogue of first-party lic plugins, rendered from discovery with every plugin installed:\n"
    "#   python -m lic_core.catalog --write     (and --check in CI; tests/test_registry_yaml.py)\n"
    "# The core uses it to tell a user which distribution provides an id they do not have.\n"
)


def distribution_path(distribution: str, module: str = "") -> Path | None:
    """Where an installed distribution's source lives (editable or local install), if known.

    Uses the PEP 610 ``direct_url.json`` of the install, else the directory holding the
    entry module's package with a ``pyproject.toml``.
    """
    import json
    from importlib import metadata
    from importlib.util import find_spec
    from urllib.parse import unquote, urlparse

    try:
        text = metadata.distribution(distribution).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        text = None
    if text:
        url = urlparse(json.loads(text).get("url", ""))
        if url.scheme == "file":
            return Path(unquote(url.path)).resolve()
    if module:
        try:
            spec = find_spec(module.split(":", 1)[0])
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            for parent in Path(spec.origin).resolve().parents:
                if (parent / "pyproject.toml").is_file():
                    return parent
    return None


def first_party_path(distribution: str, module: str = "", root: Path | None = None) -> str | None:
    """``plugins/<dir>`` (or ``examples/...``) when the distribution is installed from this repo."""
    root = (root or REPO_ROOT).resolve()
    path = distribution_path(distribution, module)
    if path is None:
        return None
    try:
        rel = path.relative_to(root)
    except ValueError:
        return None
    return rel.as_posix() if rel.parts and rel.parts[0] in FIRST_PARTY_DIRS else None


def catalog_entry(record: Any, path: str) -> dict[str, Any]:
    """One registry.yaml entry for a loaded plugin record."""
    import importlib

    try:
        paper = str(getattr(importlib.import_module(record.module.split(":", 1)[0]), "paper", "") or "")
    except Exception:  # the record loaded, so this only guards modules that vanished since
        paper = ""
    if not paper:
        paper = next((c.paper for c in record.components if c.paper), "")
    return {
        "name": record.name,
        "distribution": record.distribution,
        "path": path,
        "requires_core": record.requires_core,
        "paper": paper,
        "components": [{"id": c.id, "kind": c.kind} for c in sorted(record.components, key=lambda c: c.id)],
        "recipes": sorted(r.name for r in record.recipes),
        "models": sorted(m.id for m in record.models),
    }


def render_entries(
    registry: Registry | None = None, root: Path | None = None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Entries for every loaded first-party plugin, and the first-party plugins that are
    installed but did not load (name -> why; they cannot be catalogued)."""
    from lic_core.discovery import get_registry

    registry = registry or get_registry()
    entries: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    for record in sorted(registry.plugins.values(), key=lambda r: r.name):
        if record.name == "core":
            continue
        path = first_party_path(record.distribution, record.module, root)
        if path is None:
            continue
        if record.status != "ok":
            failed[record.name] = f"{record.name} ({path}) is {record.status}: {record.error}"
            continue
        entries.append(catalog_entry(record, path))
    return entries, failed


def render(
    registry: Registry | None = None, existing: list[dict[str, Any]] | None = None, root: Path | None = None
) -> tuple[str, list[str]]:
    """The text of registry.yaml: discovered first-party plugins, plus entries of ``existing``
    whose plugin is not installed here (or did not load) but whose directory still exists, so
    a partial environment does not drop them. Returns (text, warnings)."""
    import yaml

    root = (root or REPO_ROOT).resolve()
    entries, failed = render_entries(registry, root)
    warnings = list(failed.values())
    found = {e["name"] for e in entries}
    for old in existing or []:
        if old.get("name") not in found and (root / str(old.get("path", ""))).is_dir():
            entries.append(old)
            why = "did not load" if old.get("name") in failed else "is not installed"
            warnings.append(f"{old['name']} {why}: its entry is kept from the existing registry.yaml")
    entries.sort(key=lambda e: e["name"])
    body = yaml.safe_dump({"plugins": entries}, sort_keys=False, default_flow_style=None, allow_unicode=True, width=1000)
    return HEADER + body, warnings


def main(argv: list[str] | None = None) -> int:
    """``python -m lic_core.catalog --write | --check [--path registry.yaml]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m lic_core.catalog", description="render registry.yaml from discovery")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write registry.yaml")
    mode.add_argument("--check", action="store_true", help="exit 1 when registry.yaml differs from discovery")
    parser.add_argument("--path", type=Path, default=CATALOG_PATH, help="the file (default: the repository's registry.yaml)")
    args = parser.parse_args(argv)

    existing = _read_catalog.__wrapped__(args.path)
    text, warnings = render(existing=existing, root=args.path.resolve().parent)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    current = args.path.read_text() if args.path.is_file() else ""
    if args.check:
        if current != text:
            print(f"{args.path} is out of date: run `python -m lic_core.catalog --write`", file=sys.stderr)
            return 1
        print(f"{args.path} is up to date")
        return 0
    args.path.write_text(text)
    _read_catalog.cache_clear()
    print(f"wrote {args.path} ({text.count('- name:')} plugins)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
