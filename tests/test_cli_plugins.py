"""``lic plugins`` and ``lic recipes``: listings stay light, show/check report clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lic_core.cli.main import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "discovery"


def _lic(*args: str, roots: tuple[str, ...] = (), prelude: str = "") -> subprocess.CompletedProcess:
    """Run ``lic ARGS`` in a fresh interpreter with fixture roots on PYTHONPATH; the process
    also reports whether torch got imported (last stderr line)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LIC_STRICT_PLUGINS", "LIC_DISABLE_PLUGINS")}
    env["PYTHONPATH"] = os.pathsep.join([*(str(FIXTURES / r) for r in roots), env.get("PYTHONPATH", "")])
    code = (
        "import sys\n"
        "from lic_core.cli.main import main\n"
        f"rc = main({list(args)!r})\n"
        "print('torch imported:', 'torch' in sys.modules, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("args", [("plugins", "list"), ("plugins", "list", "--json"), ("plugins", "show", "core"),
                                  ("recipes", "list"), ("recipes", "show", "core.mbt2018-mean")])  # fmt: skip
def test_listings_do_not_import_torch(args):
    proc = _lic(*args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "torch imported: False"


def test_plugins_list_json(capsys):
    assert main(["plugins", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    core = data[0]
    assert core["name"] == "core" and core["distribution"] == "lic-core" and core["status"] == "ok" and core["error"] == ""
    assert {"id": "core.gdn", "kind": "transform"}.items() <= core["components"][0].items()
    assert all(p["status"] in ("ok", "error", "incompatible", "disabled") for p in data)


def test_plugins_list_table_shows_status_and_error_compactly():
    proc = _lic("plugins", "list", roots=("broken", "good"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "DISTRIBUTION", "VERSION", "STATUS"]
    broken = next(line for line in lines if line.startswith("broken "))
    assert "lic-fake-broken" in broken and " error " in broken and "import failed: ImportError" in broken
    assert len(broken) < 200
    assert next(line for line in lines if line.startswith("alpha ")).split()[3] == "ok"


def test_plugins_show(capsys):
    assert main(["plugins", "show", "core"]) == 0
    out = capsys.readouterr().out
    assert "core.gdn  [transform]" in out and "params: N=128, M=192" in out
    assert "paper: Ballé et al." in out and "core.mbt2018-mean" in out
    assert main(["plugins", "show", "lic-core"]) == 0  # by distribution name too


@pytest.mark.parametrize("args", [("plugins", "show", "nope"), ("plugins", "check", "nope"), ("recipes", "show", "nope")])
def test_unknown_names_are_one_line_errors(capsys, args):
    assert main(list(args)) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("lic: error: unknown") and "\n" not in err and "nope" in err


def test_plugins_check_passes_on_a_core_component(capsys):
    assert main(["plugins", "check", "core", "--component", "core.ste"]) == 0
    out = capsys.readouterr().out
    assert "PASS  core.ste  eval: eval returns round(x - means) + means" in out
    assert out.rstrip().endswith("core: 6 passed, 0 failed, 0 skipped")


def test_plugins_check_fails_with_the_reason_and_exit_1():
    proc = _lic("plugins", "check", "alpha", roots=("good",))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "PASS  alpha:light_entry" not in out  # plugin-level results name the plugin alone
    assert "PASS  alpha  light_entry" in out and "PASS  alpha.block  gradients" in out
    assert "FAIL  alpha.unique  gradients: 2 of 4 trainable parameters got no gradient: unused.weight, unused.bias" in out
    assert "alpha: 11 passed, 1 failed, 1 skipped" in out  # models: none shipped


def test_plugins_check_fails_a_heavy_entry_module():
    proc = _lic("plugins", "check", "heavy", "--json", roots=("heavy",))
    assert proc.returncode == 1
    results = {(r["component"], r["check"]): r for r in json.loads(proc.stdout)}
    light = results[("heavy", "light_entry")]
    assert light["status"] == "FAIL" and "torch" in light["detail"] and "must stay light" in light["detail"]
    assert results[("heavy", "discovery")]["passed"] and results[("heavy", "models")]["status"] == "SKIP" and len(results) == 3


def test_plugins_check_of_a_broken_plugin_reports_its_error():
    proc = _lic("plugins", "check", "broken", roots=("broken",))
    assert proc.returncode == 1
    assert "FAIL  broken  discovery: plugin 'broken' (lic-fake-broken) is error: import failed" in proc.stdout


def test_recipes_list_and_show(capsys):
    from lic_core import get_recipe

    assert main(["recipes", "list", "--json"]) == 0
    data = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert data["core.mbt2018-mean"]["plugin"] == "core" and "MeanScaleHyperprior" in data["core.mbt2018-mean"]["summary"]
    assert main(["recipes", "show", "core.mbt2018-mean"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# core.mbt2018-mean (plugin core)")
    assert yaml.safe_load(text) == get_recipe("core.mbt2018-mean")


@pytest.mark.parametrize("args", [("plugins", "list", "--json"), ("recipes", "show", "core.mbt2018-mean"), ("--help",)])
def test_closed_stdout_pipe_ends_quietly(args):
    """``lic ... | head -c 10``: output larger than stdout's buffer fails in the handler, smaller
    output at the final flush, argparse's at exit; each ends with 141 and nothing on stderr."""
    drop = ("LIC_STRICT_PLUGINS", "LIC_DISABLE_PLUGINS", "PYTHONUNBUFFERED")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    cmd = [sys.executable, "-m", "lic_core.cli.main", *args]
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        proc.stdout.close()  # lic needs far longer to start than this takes: every write hits a closed pipe
        err = proc.stderr.read()
        assert proc.wait(timeout=300) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err and err == ""


def test_plugins_show_marks_required_params_and_prints_none_as_a_default(tmp_path):
    (tmp_path / "req_plugin.py").write_text(
        "from lic_core.hookspec import hookimpl\n"
        "from lic_core.specs import REQUIRED, ComponentSpec\n"
        "@hookimpl\n"
        "def lic_components():\n"
        "    return [ComponentSpec('req.block', 'block', 'req_plugin:nothing', params={'hidden': REQUIRED, 'norm': None})]\n"
    )
    code = (
        "import sys\n"
        "from lic_core import get_registry\n"
        "from lic_core.cli.main import main\n"
        "get_registry().add_module('req_plugin', name='req')\n"
        "sys.exit(main(['plugins', 'show', 'req']) or main(['plugins', 'show', 'req', '--json']))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "params: hidden=(required), norm=None" in proc.stdout
    shown = json.loads(proc.stdout[proc.stdout.index("{") :])["components"][0]
    assert shown["required"] == ["hidden"] and shown["params"] == {"norm": None}
