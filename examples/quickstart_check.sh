#!/usr/bin/env bash
# Follow the plugin quickstart of docs/plugin-authoring.md in a fresh virtual environment, with
# lic-core installed (not editable) from this tree, and run the scaffolded plugin's tests.
#
#   examples/quickstart_check.sh [KIND]        # KIND: quantizer (default), transform, block, ...
#
# To avoid downloading torch again, the fresh environment sees the third-party packages of
# this repository's .venv (torch, compressai, ...) through a folder of links to them named in
# a .pth file; lic's own distributions, pip, setuptools and pytest are left out, so lic-core,
# the plugin and pytest (the `test` extra) are installed into the fresh environment itself.
# lic-core is installed from a copy of the tree, so no build/ is written here. Needs .venv
# (`make install`) and the package registry (pytest). Everything goes into a temporary folder,
# removed at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIND=${1:-quantizer}
SITE=$(ls -d "$ROOT"/.venv/lib/python3*/site-packages)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== fresh environment in $WORK/venv"
python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
mkdir "$WORK/deps"
for entry in "$SITE"/*; do
    case "$(basename "$entry")" in
        lic_* | lic-* | __editable__* | *.pth | pip | pip-* | setuptools | setuptools-* | pkg_resources | \
        _distutils_hack | pytest | pytest-* | _pytest | __pycache__) continue ;;
    esac
    ln -s "$entry" "$WORK/deps/"
done
echo "$WORK/deps" > "$(ls -d "$WORK"/venv/lib/python3*/site-packages)/zz-dotvenv-deps.pth"
"$PY" -m pip install -q --upgrade pip setuptools

echo "== pip install 'lic-core[test]' from a copy of the tree"
mkdir "$WORK/src"
(cd "$ROOT" && tar -cf - --exclude=__pycache__ --exclude='*.egg-info' pyproject.toml README.md lic_core) | tar -xf - -C "$WORK/src"
"$PY" -m pip install -q "$WORK/src[test]"

echo "== the quickstart"
cd "$WORK"
set -x
"$WORK/venv/bin/lic" plugin new lic-edge --kind "$KIND"
"$PY" -m pip install -q --no-build-isolation -e "lic-edge[test]"
"$WORK/venv/bin/lic" plugins list
"$PY" -m pytest -q lic-edge
