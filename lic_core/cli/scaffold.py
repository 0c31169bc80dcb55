"""``lic plugin new NAME``: scaffold a third-party plugin (light: no torch import)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lic_core.specs import KINDS


def register(subparsers: argparse._SubParsersAction) -> None:
    what = "create a third-party plugin"
    parser = subparsers.add_parser("plugin", help=what, description=what)
    actions = parser.add_subparsers(dest="plugin_action", metavar="ACTION")
    actions.required = True
    new = actions.add_parser(
        "new",
        help="scaffold a plugin distribution that passes the conformance kit",
        description=(
            "Create NAME/ with a pyproject (entry point in group 'lic'), a light entry module, one working "
            "component of the chosen kind, tests that run the conformance kit, and a README. "
            "NAME 'lic-edge' gives distribution lic-edge, package lic_edge and component id 'edge.<kind>'."
        ),
    )
    new.add_argument("name", metavar="NAME", help="distribution and directory name, e.g. lic-edge")
    new.add_argument("--kind", choices=KINDS, default="transform", help="kind of the component (default: transform)")
    new.add_argument("--dir", default=".", metavar="D", help="where to create NAME/ (default: the current directory)")
    new.set_defaults(handler=_new)


def _new(args: argparse.Namespace) -> int:
    from lic_core.scaffold import new_plugin, plugin_names

    root = new_plugin(args.name, kind=args.kind, directory=Path(args.dir))
    plugin = plugin_names(args.name).plugin
    print(f"created {root} (plugin {plugin!r}, component {plugin}.{args.kind})")
    print("next:")
    print(f"  pip install --no-build-isolation -e '{root}[test]'    # [test]: pytest")
    print(f"  python -m pytest -q {root}")
    print(f"  lic plugins check {plugin}")
    return 0
