"""lic: learned image compression in which every codec component is a plugin.

Importing ``lic_core`` is light (no torch): the names below are loaded on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import lic_core._quiet  # noqa: F401  (light: silences a warning compressai's import triggers)
from lic_core.version import __version__

_LAZY = {
    # discovery (light)
    "ComponentSpec": "lic_core.specs",
    "RecipeSpec": "lic_core.specs",
    "KINDS": "lic_core.specs",
    "hookimpl": "lic_core.hookspec",
    "get_registry": "lic_core.discovery",
    "list_components": "lic_core.api",
    "list_plugins": "lic_core.api",
    "LicError": "lic_core.errors",
    "CompositionError": "lic_core.errors",
    "BitstreamError": "lic_core.errors",
    "CheckpointError": "lic_core.errors",
    # composition (imports torch when a component is built)
    "compose": "lic_core.composition",
    "create": "lic_core.composition",
    "get_recipe": "lic_core.composition",
    "load_recipe": "lic_core.composition",
    "ComponentRef": "lic_core.composition",
    # torch-side
    "Transform": "lic_core.interfaces",
    "Block": "lic_core.interfaces",
    "EntropyModel": "lic_core.interfaces",
    "Quantizer": "lic_core.interfaces",
    "PrePost": "lic_core.interfaces",
    "PostOnlyStage": "lic_core.interfaces",
    "LossTerm": "lic_core.interfaces",
    "Codec": "lic_core.codec",
    "load": "lic_core.checkpoint",
    "save": "lic_core.checkpoint",
    "compress_image": "lic_core.imagecodec",
    "decompress_image": "lic_core.imagecodec",
    "compress_file": "lic_core.imagecodec",
    "decompress_file": "lic_core.imagecodec",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lic_core' has no attribute {name!r}")
