"""``lic plugin new``: a scaffolded plugin of every kind installs offline, is discovered, and
its own tests (the conformance kit and its behaviour tests) pass right after generation."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lic_core.cli.main import main
from lic_core.errors import LicError
from lic_core.scaffold import PluginNames, core_range, new_plugin, plugin_names
from lic_core.specs import KINDS


def _env(site: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS="1")
    env.pop("LIC_DISABLE_PLUGINS", None)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """One scaffolded plugin per kind, installed together into a private target directory."""
    root = tmp_path_factory.mktemp("scaffold")
    dirs = {kind: new_plugin(f"lic-zz{kind.replace('_', '')}", kind, root) for kind in KINDS}
    site = root / "site"
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    cmd += ["--target", str(site)]
    done = subprocess.run([*cmd, *map(str, dirs.values())], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return dirs, site


def test_installed_plugins_are_discovered(installed):
    dirs, site = installed
    out = subprocess.run(
        [sys.executable, "-m", "lic_core.cli.main", "plugins", "list", "--json"],
        capture_output=True, text=True, env=_env(site), timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    records = {r["name"]: r for r in json.loads(out.stdout)}
    for kind in KINDS:
        plugin = f"zz{kind.replace('_', '')}"
        assert records[plugin]["status"] == "ok", records[plugin]["error"]
        assert records[plugin]["requires_core"] == core_range()
        assert [(c["id"], c["kind"]) for c in records[plugin]["components"]] == [(f"{plugin}.{kind}", kind)]


def test_generated_plugins_pass_their_own_tests(installed):
    dirs, site = installed
    tests = [str(d / "tests") for d in dirs.values()]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", *tests],
        capture_output=True, text=True, env=_env(site), cwd=site.parent, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:]
    assert " passed" in out.stdout


def test_layout_and_light_entry_module(tmp_path):
    root = new_plugin("lic-edge", "loss", tmp_path)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == [
        "README.md", "lic_edge/__init__.py", "lic_edge/loss.py", "lic_edge/plugin.py",
        "pyproject.toml", "tests/test_conformance.py", "tests/test_loss.py",
    ]  # fmt: skip
    pyproject = (root / "pyproject.toml").read_text()
    assert 'edge = "lic_edge.plugin"' in pyproject and "setuptools.build_meta" in pyproject
    assert 'test = ["pytest' in pyproject and "'.[test]'" in (root / "README.md").read_text()  # pytest comes with it
    entry = ast.parse((root / "lic_edge/plugin.py").read_text())
    imported = {n.module for n in ast.walk(entry) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(entry) if isinstance(n, ast.Import) for a in n.names}
    assert imported == {"__future__", "lic_core.hookspec", "lic_core.specs"}
    conformance = (root / "tests/test_conformance.py").read_text()
    assert 'test_conformance = conformance_tests("edge")' in conformance
    for path in root.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")  # every generated module is valid Python
    assert "{{" not in "".join(p.read_text() for p in root.rglob("*") if p.is_file())


def test_cli_creates_the_plugin(tmp_path, capsys):
    assert main(["plugin", "new", "lic-edge", "--kind", "block", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "lic-edge/lic_edge/block.py").is_file()
    out = capsys.readouterr().out
    assert "edge.block" in out and "lic-edge[test]" in out  # the next steps install pytest too
    assert main(["plugin", "new", "lic-edge", "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_names():
    assert plugin_names("lic-edge") == PluginNames("lic-edge", "lic_edge", "edge")
    assert plugin_names("MyCodec") == PluginNames("MyCodec", "mycodec", "mycodec")
    for bad in ("2fast", "a.b", "lic-", "lic_core", "with space"):
        with pytest.raises(LicError):
            plugin_names(bad)


def test_refuses_taken_names_and_unknown_kinds(tmp_path):
    with pytest.raises(LicError, match="already taken"):
        new_plugin("core", "block", tmp_path)
    with pytest.raises(LicError, match="already installed"):
        new_plugin("torch", "block", tmp_path)
    with pytest.raises(LicError, match="unknown kind"):
        new_plugin("lic-edge", "codec", tmp_path)
    assert list(tmp_path.iterdir()) == []
