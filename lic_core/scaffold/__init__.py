"""``lic plugin new``: scaffold a third-party plugin distribution that passes the conformance kit.

:func:`new_plugin` writes a directory with a pyproject (the ``lic`` entry point, setuptools),
a light entry module, one working component of the chosen kind, its tests (the kit's
one-liner plus behaviour tests) and a README. The files come from the ``*.tmpl`` templates
next to this module, with ``{{name}}`` placeholders. Light: nothing here imports torch.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lic_core.errors import LicError
from lic_core.scaffold.kinds import KIND_TEMPLATES, KindTemplate
from lic_core.specs import KINDS
from lic_core.version import __version__

TEMPLATES = Path(__file__).resolve().parent
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

#: how compose calls each kind's factory (besides the recipe's parameters)
FACTORY_CALLS = {
    "transform": "factory(in_channels=3, in_stride=1, **params)",
    "block": "factory(channels, **params)",
    "entropy_model": "factory(M, **params)",
    "quantizer": "factory(**params)",
    "prepost": "factory(in_channels, layout, **params)",
    "loss": "factory(**params)",
}


@dataclass(frozen=True)
class PluginNames:
    """The names a plugin called ``NAME`` gets: ``lic-edge`` -> dist ``lic-edge``, package
    ``lic_edge``, plugin (entry-point name and id prefix) ``edge``."""

    dist: str
    package: str
    plugin: str


def plugin_names(name: str) -> PluginNames:
    """Derive and validate the distribution, package and plugin names from ``name``."""
    if not NAME_RE.match(name):
        raise LicError(f"plugin name {name!r} must start with a letter and hold only letters, digits, '-' and '_'")
    package = name.lower().replace("-", "_")
    plugin = package[4:] if package.startswith("lic_") else package
    if not plugin or keyword.iskeyword(package) or package == "lic_core":
        raise LicError(f"plugin name {name!r} gives no usable package ({package!r}) or plugin name ({plugin!r})")
    return PluginNames(dist=name, package=package, plugin=plugin)


def core_range(version: str = __version__) -> str:
    """The compatible-release range of this core, e.g. ``>=0.1,<0.2`` for 0.1.x."""
    major, minor = (int(p) for p in version.split(".")[:2])
    return f">={major}.{minor},<{major}.{minor + 1}"


def _check_free(names: PluginNames) -> None:
    """Refuse names that would collide with an installed plugin or shadow an installed package."""
    from lic_core.discovery import get_registry

    record = get_registry().plugins.get(names.plugin)
    if record is not None:
        raise LicError(f"plugin name {names.plugin!r} is already taken by the installed {record.distribution!r}")
    if importlib.util.find_spec(names.package) is not None:
        raise LicError(f"a Python package named {names.package!r} is already installed; choose another plugin name")


def _pyliteral(value: Any, indent: int, width: int = 100) -> str:
    """A Python literal with double quotes; a dict too long for one line gets one item per line."""
    if isinstance(value, dict):
        items = [f"{_pyliteral(k, 0)}: {_pyliteral(v, indent + 4)}" for k, v in value.items()]
        flat = "{" + ", ".join(items) + "}"
        if indent + len(flat) <= width or not items:
            return flat
        pad = " " * (indent + 4)
        return "{\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_pyliteral(v, indent) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _with_id(value: Any, component_id: str) -> Any:
    if isinstance(value, dict):
        return {k: _with_id(v, component_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_id(v, component_id) for v in value]
    return component_id if value == "{id}" else value


def _recipes(names: PluginNames, tpl: KindTemplate, component_id: str) -> str:
    if tpl.recipe is None:
        return "[]"
    recipe = _pyliteral(_with_id(tpl.recipe, component_id), 12)
    return (
        "[\n"
        "        RecipeSpec(\n"
        f'            "{names.plugin}.demo",\n'
        f"            {recipe},\n"
        f'            "a small codec around {component_id} (for tests and a first try)",\n'
        "            paper,\n"
        "        ),\n"
        "    ]"
    )


def _param_table(kind: str, tpl: KindTemplate) -> str:
    rows = [f"Built as `{FACTORY_CALLS[kind]}`.", "", "| parameter | default | meaning |", "|---|---|---|"]
    rows += [f"| `{k}` | `{default!r}` | {meaning} |" for k, (default, meaning) in tpl.params.items()]
    return "\n".join(rows) if tpl.params else f"Built as `{FACTORY_CALLS[kind]}`; no parameters."


def _usage(names: PluginNames, tpl: KindTemplate, component_id: str) -> str:
    if tpl.usage:
        return tpl.usage.replace("{id}", component_id)
    return (
        "Its demo recipe composes it with core components:\n\n"
        f"```bash\nlic compose {names.plugin}.demo --summary\n```\n\n"
        f'or in Python: `codec = lic_core.compose("{names.plugin}.demo")`. In your own recipes, name it\n'
        f"by id: `{component_id}` (or the short alias when it is unique)."
    )


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{{key}}`` placeholders of the template file ``template``."""
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    leftover = re.search(r"\{\{\w+\}\}", text)
    if leftover:
        raise LicError(f"scaffold template {template} has an unfilled placeholder {leftover.group(0)}")
    return text


def new_plugin(name: str, kind: str = "transform", directory: str | Path = ".", check_installed: bool = True) -> Path:
    """Create ``directory/name/``: a plugin distribution with one working ``kind`` component.

    Returns the new directory. Refuses an existing directory, an unknown kind, and (with
    ``check_installed``) a plugin or package name that is already installed.
    """
    if kind not in KINDS:
        raise LicError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
    names = plugin_names(name)
    root = Path(directory) / name
    if root.exists():
        raise LicError(f"{root} already exists")
    if check_installed:
        _check_free(names)
    tpl = KIND_TEMPLATES[kind]
    component_id = f"{names.plugin}.{kind}"
    values = {
        "dist": names.dist,
        "package": names.package,
        "plugin": names.plugin,
        "kind": kind,
        "module": kind,
        "id": component_id,
        "Class": tpl.cls,
        "summary": tpl.summary,
        "paper": tpl.paper,
        "description": tpl.description,
        "core_range": core_range(),
        "params": _pyliteral({k: default for k, (default, _) in tpl.params.items()}, 12),
        "example": _pyliteral(tpl.example, 12),
        "recipes": _recipes(names, tpl, component_id),
        "param_table": _param_table(kind, tpl),
        "usage": _usage(names, tpl, component_id),
    }
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"{names.package}/__init__.py": "init.py.tmpl",
        f"{names.package}/plugin.py": "plugin.py.tmpl",
        f"{names.package}/{kind}.py": f"{kind}.py.tmpl",
        "tests/test_conformance.py": "test_conformance.py.tmpl",
        f"tests/test_{kind}.py": f"test_{kind}.py.tmpl",
    }
    rendered = {path: render(template, values) for path, template in files.items()}
    for path, text in rendered.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root
