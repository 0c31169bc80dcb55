"""registry.yaml equals what discovery finds for the first-party plugins installed here."""

from __future__ import annotations

import tomllib
from importlib import metadata

import pytest

from lic_core import catalog

ROOT = catalog.REPO_ROOT
FIX = "run `python -m lic_core.catalog --write` and commit registry.yaml"


def _first_party() -> list[tuple[str, str, str]]:
    """(path, distribution, plugin name) of every plugin distribution under plugins/ and examples/."""
    out = []
    for top in catalog.FIRST_PARTY_DIRS:
        for pyproject in sorted((ROOT / top).glob("*/pyproject.toml")):
            project = tomllib.loads(pyproject.read_text()).get("project", {})
            for name in project.get("entry-points", {}).get("lic", {}):
                out.append((pyproject.parent.relative_to(ROOT).as_posix(), project["name"], name))
    return out


FIRST_PARTY = _first_party()


def _entries() -> dict[str, dict]:
    return {e["name"]: e for e in catalog.load_catalog(ROOT / "registry.yaml")}


@pytest.mark.parametrize(("path", "distribution", "name"), FIRST_PARTY, ids=[p[2] for p in FIRST_PARTY])
def test_registry_yaml_entry_matches_discovery(path, distribution, name):
    from lic_core.discovery import get_registry

    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed (pip install --no-build-isolation -e {path})")
    record = get_registry().plugins.get(name)
    assert record is not None, f"{distribution} is installed but discovery found no plugin {name!r}"
    assert record.status == "ok", f"first-party plugin {name!r} does not load: {record.status}: {record.error}"
    entry = _entries().get(name)
    assert entry is not None, f"plugin {name!r} ({path}) is missing from registry.yaml: {FIX}"
    assert entry == catalog.catalog_entry(record, path), f"registry.yaml entry of {name!r} is out of date: {FIX}"


def test_registry_yaml_lists_only_existing_first_party_plugins():
    known = {(p, d, n) for p, d, n in FIRST_PARTY}
    for entry in _entries().values():
        assert (entry["path"], entry["distribution"], entry["name"]) in known, (
            f"registry.yaml lists {entry['name']!r} at {entry['path']}, which is not a plugin distribution here: {FIX}"
        )
        assert entry["components"], f"registry.yaml entry {entry['name']!r} has no components"


def test_write_then_check_round_trip(tmp_path, capsys):
    path = tmp_path / "registry.yaml"
    assert catalog.main(["--write", "--path", str(path)]) == 0
    assert path.read_text().startswith("# Catalogue of first-party lic plugins")
    assert catalog.main(["--check", "--path", str(path)]) == 0
    path.write_text(path.read_text() + "# edited by hand\n")
    assert catalog.main(["--check", "--path", str(path)]) == 1
    assert "out of date" in capsys.readouterr().err


def test_render_keeps_entries_of_plugins_not_installed_here(tmp_path):
    (tmp_path / "plugins" / "lic-ghost").mkdir(parents=True)
    ghost = {"name": "ghost", "distribution": "lic-ghost", "path": "plugins/lic-ghost"}
    ghost["components"] = [{"id": "ghost.x", "kind": "block"}]
    gone = {**ghost, "name": "gone", "path": "plugins/lic-gone"}
    text, warnings = catalog.render(existing=[ghost, gone], root=tmp_path)
    import yaml

    assert yaml.safe_load(text)["plugins"] == [ghost]
    assert any("ghost is not installed" in w for w in warnings)


def test_registry_yaml_text_is_what_write_renders():
    missing = []
    for path, distribution, _ in FIRST_PARTY:
        try:
            metadata.distribution(distribution)
        except metadata.PackageNotFoundError:
            missing.append(f"{distribution} ({path})")
    if missing:
        pytest.skip(f"not every first-party plugin is installed: {', '.join(missing)}")
    path = ROOT / "registry.yaml"
    text, _ = catalog.render(existing=catalog.load_catalog(path), root=ROOT)
    assert path.read_text() == text, FIX
