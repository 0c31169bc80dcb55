"""Discovery with fake plugin distributions (tests/fixtures/discovery): broken, invalid,
incompatible, disabled and duplicate plugins are recorded and skipped while the host works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lic_core.discovery import Registry
from lic_core.errors import LicError, PluginError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "discovery"


@pytest.fixture
def discover(monkeypatch):
    """Put fixture roots on sys.path and discover afresh (real installed plugins included)."""

    def run(*roots: str, strict: bool | None = None) -> Registry:
        for root in roots:
            monkeypatch.syspath_prepend(str(FIXTURES / root))
        return Registry(strict=strict).load_entry_points()

    monkeypatch.delenv("LIC_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("LIC_DISABLE_PLUGINS", raising=False)
    return run


def test_plugin_that_fails_to_import_is_an_error_and_the_rest_works(discover):
    reg = discover("good", "broken")
    broken = reg.plugins["broken"]
    assert broken.status == "error"
    assert broken.distribution == "lic-fake-broken" and broken.version == "0.1.0"
    assert "import failed" in broken.error and "not installed" in broken.error
    assert reg.plugins["core"].status == "ok" and reg.plugins["alpha"].status == "ok"
    assert reg.component("core.gdn").kind == "transform"
    assert {c.id for c in reg.list_components(kind="block")} >= {"alpha.block", "alpha.unique", "beta.block"}


def test_hookimpl_with_a_wrong_argument_is_an_error(discover):
    rec = discover("badhook").plugins["badhook"]
    assert rec.status == "error"
    assert "invalid hookimpl" in rec.error and "registry" in rec.error


def test_hookimpl_of_an_unknown_hook_is_caught_by_check_pending(discover):
    reg = discover("badhook")
    rec = reg.plugins["typo"]
    assert rec.status == "error" and "lic_component" in rec.error
    assert not reg.pm.has_plugin("typo")  # unregistered: the host's hooks still validate
    reg.pm.check_pending()


def test_incompatible_core_range(discover):
    reg = discover("incompatible")
    rec = reg.plugins["old"]
    assert rec.status == "incompatible" and ">=9.0" in rec.error
    assert "old.block" not in reg.components
    with pytest.raises(LicError, match="incompatible"):
        reg.component("old.block")


@pytest.mark.parametrize("root", ["broken", "badhook", "incompatible"])
def test_strict_mode_raises(discover, monkeypatch, root):
    monkeypatch.setenv("LIC_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="lic-fake-"):
        discover(root)


@pytest.mark.parametrize("blocked", ["bomb", "lic-fake-bomb"])
def test_disabled_plugin_is_never_imported(discover, monkeypatch, blocked):
    monkeypatch.setenv("LIC_DISABLE_PLUGINS", f"nothing, {blocked}")
    reg = discover("bomb", "good")
    assert reg.plugins["bomb"].status == "disabled"
    assert "lic_fake_bomb.plugin" not in sys.modules
    assert reg.plugins["alpha"].status == "ok"


def test_the_disabled_fixture_would_raise_if_imported(discover):
    rec = discover("bomb").plugins["bomb"]
    assert rec.status == "error" and "was imported although" in rec.error


def test_two_distributions_of_one_plugin_name_are_an_error_naming_both(discover):
    reg = discover("dup_a", "dup_b")
    errors = [r for r in reg.plugins.values() if r.name == "dup"]
    assert len(errors) == 2 and all(r.status == "error" for r in errors)
    for rec in errors:
        assert "lic-fake-dup-a" in rec.error and "lic-fake-dup-b" in rec.error
    assert "dup.block" not in reg.components
    with pytest.raises(LicError, match="lic-fake-dup-a"):
        reg.component("dup.block")


def test_duplicate_distributions_raise_in_strict_mode(discover):
    with pytest.raises(PluginError, match="lic-fake-dup-a.*lic-fake-dup-b"):
        discover("dup_a", "dup_b", strict=True)


def test_short_alias_resolves_when_unique_and_is_ambiguous_otherwise(discover):
    reg = discover("good")
    assert reg.component("unique").id == "alpha.unique"
    assert reg.component("alpha.block").id == "alpha.block"
    with pytest.raises(LicError, match="ambiguous.*alpha.block, beta.block"):
        reg.component("block")
    assert reg.recipe("tiny").name == "alpha.tiny"
    with pytest.raises(LicError, match="is a block, not a transform"):
        reg.component("unique", kind="transform")
    provides = r"'alpha' \(lic-fake-alpha 0.1.0\) provides components alpha.block, alpha.unique; recipes alpha.tiny"
    with pytest.raises(LicError, match=provides):
        reg.component("alpha.missing")


def test_unknown_id_names_the_distribution_from_registry_yaml(discover, monkeypatch, tmp_path):
    import lic_core.catalog as catalog

    path = tmp_path / "registry.yaml"
    path.write_text(
        "plugins:\n"
        "- {name: ghost, distribution: lic-ghost, path: plugins/lic-ghost, requires_core: '>=0.1,<0.2',\n"
        "   paper: '', components: [{id: ghost.haunt, kind: block}], recipes: [ghost-small]}\n"
    )
    monkeypatch.setattr(catalog, "CATALOG_PATH", path)
    reg = discover("good")
    for key in ("ghost.haunt", "haunt", "ghost.other"):
        with pytest.raises(LicError, match=r"lic-ghost: pip install \./plugins/lic-ghost"):
            reg.component(key)
    with pytest.raises(LicError, match="lic-ghost"):
        reg.recipe("ghost-small")
    with pytest.raises(LicError, match="no installed plugin or registry.yaml entry provides it"):
        reg.component("nobody.nothing")


def _run_python(code: str, *roots: str, **env: str) -> subprocess.CompletedProcess:
    paths = [str(FIXTURES / r) for r in roots]
    full_env = {k: v for k, v in os.environ.items() if k not in ("LIC_STRICT_PLUGINS", "LIC_DISABLE_PLUGINS")}
    full_env.update(env, PYTHONPATH=os.pathsep.join([*paths, full_env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=120)


def test_plugins_list_reports_every_status_without_importing_torch():
    code = (
        "import sys\n"
        "from lic_core.cli.main import main\n"
        "rc = main(['plugins', 'list', '--json'])\n"
        "main(['plugins', 'list'])\n"
        "assert 'torch' not in sys.modules, 'lic plugins list imported torch'\n"
        "sys.exit(rc)\n"
    )
    proc = _run_python(code, "good", "broken", "incompatible", "bomb", LIC_DISABLE_PLUGINS="bomb")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    data = json.loads(text[: text.index("\n]\n") + 2])
    status = {p["name"]: p["status"] for p in data}
    assert status["core"] == "ok" and status["alpha"] == "ok"
    assert status["broken"] == "error" and status["old"] == "incompatible" and status["bomb"] == "disabled"
    alpha = next(p for p in data if p["name"] == "alpha")
    assert {"name", "distribution", "version", "status", "error", "components"} <= alpha.keys()
    assert {"id": "alpha.unique", "kind": "block"}.items() <= alpha["components"][1].items()
    table = text[text.index("\n]\n") + 3 :]
    assert "incompatible" in table and "requires lic-core >=9.0" in table


HOSTILE = {
    "exiter": "import failed: SystemExit: 3",
    "ctrlc": "import failed: KeyboardInterrupt",
    "hookexit": "SystemExit: leaving from a hook",
    "genexit": "GeneratorExit",
}


def test_any_exception_from_plugin_code_breaks_only_that_plugin(discover, capsys):
    reg = discover("hostile", "good")
    for name, error in HOSTILE.items():
        rec = reg.plugins[name]
        assert rec.status == "error" and rec.error == error, (name, rec.error)
        assert not reg.pm.has_plugin(name)
    assert reg.plugins["alpha"].status == "ok" and reg.component("alpha.block").kind == "block"
    assert reg.plugins["core"].status == "ok" and reg.component("core.gdn").kind == "transform"
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == len(HOSTILE)  # one line per broken plugin, naming it and its distribution
    assert "lic: warning: plugin 'exiter' (lic-fake-exit 0.1.0) not loaded: import failed: SystemExit: 3" in warnings


def test_hostile_plugins_raise_in_strict_mode(discover):
    with pytest.raises(PluginError, match="lic-fake-ctrlc.*KeyboardInterrupt"):
        discover("hostile", strict=True)


@pytest.mark.parametrize("root", ["sigint", "swallowed"])  # raised on, or caught by the plugin
def test_a_real_sigint_while_a_plugin_imports_still_interrupts(discover, root):
    with pytest.raises(KeyboardInterrupt):
        discover(root)
    import signal

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the watch is removed again


def test_the_name_core_is_reserved_for_lic_core(discover, capsys):
    reg = discover("fakecore", "good")
    assert reg.plugins["core"].distribution == "lic-core" and reg.plugins["core"].status == "ok"
    impostor = reg.plugins["core (lic-fake-core)"]
    assert impostor.status == "error" and "reserved for lic-core" in impostor.error
    assert "lic_fake_core.plugin" not in sys.modules  # refused before its module is imported
    assert reg.component("core.gdn").summary != "an impostor"
    assert "plugin 'core' (lic-fake-core 0.1.0) not loaded: the plugin name 'core' is reserved" in capsys.readouterr().err


def test_disabling_one_distribution_of_a_duplicate_name_lets_the_other_load(discover, monkeypatch):
    monkeypatch.setenv("LIC_DISABLE_PLUGINS", "lic-fake-dup-a")
    reg = discover("dup_a", "dup_b")
    assert reg.plugins["dup"].status == "ok" and reg.plugins["dup"].distribution == "lic-fake-dup-b"
    assert reg.plugins["dup (lic-fake-dup-a)"].status == "disabled"
    assert reg.owner("dup.block").distribution == "lic-fake-dup-b"


def test_every_lic_command_survives_a_plugin_that_exits_at_import():
    code = "import sys\nfrom lic_core.cli.main import main\nsys.exit(main(['recipes', 'list']))\n"
    proc = _run_python(code, "hostile")
    assert proc.returncode == 0, proc.stderr
    assert "core.mbt2018-mean" in proc.stdout
    assert len([line for line in proc.stderr.splitlines() if line.startswith("lic: warning: plugin")]) == len(HOSTILE)


def test_ctrl_c_during_discovery_exits_130_with_one_line():
    code = "import sys\nfrom lic_core.cli.main import main\nsys.exit(main(['plugins', 'list']))\n"
    proc = _run_python(code, "sigint")
    assert proc.returncode == 130 and proc.stderr.strip() == "lic: interrupted", proc.stderr


def test_describe_gives_one_short_line_for_any_exception():
    from lic_core.discovery import describe

    class Hostile(Exception):
        def __str__(self):
            raise SystemExit(1)

    assert describe(Hostile()) == "Hostile: (unprintable)"
    assert describe(SystemExit(3)) == "SystemExit: 3" and describe(KeyboardInterrupt()) == "KeyboardInterrupt"
    long = describe(ValueError("line\n" * 1000))
    assert "\n" not in long and len(long) < 320 and long.endswith("...")
