"""Shipped trained codecs: the models plugins declare with ``lic_models``, the default codec
(the core's rate ladder, what ``lic compress`` uses without ``--model``), and finding the
model a stream's header names.

Listing reads specs only (no torch); loading a model reads its checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

from lic_core.discovery import get_registry
from lic_core.errors import LicError
from lic_core.specs import ModelSpec

DEFAULT_LADDER = "core"


def list_models(plugin: str | None = None) -> list[ModelSpec]:
    """Every shipped model of the loaded plugins (or of one plugin), sorted by id."""
    models = get_registry().models.values()
    return sorted((m for m in models if plugin is None or m.plugin == plugin), key=lambda m: (m.plugin, m.quality or 0, m.id))


def ladder(plugin: str = DEFAULT_LADDER) -> list[ModelSpec]:
    """A plugin's rate ladder: its models with a ``quality``, lowest rate first."""
    return sorted((m for m in list_models(plugin) if m.quality is not None), key=lambda m: m.quality or 0)


def default_quality(plugin: str = DEFAULT_LADDER) -> int:
    """The quality of the ladder's model marked ``default`` (else the middle of the ladder,
    upper middle for an even count)."""
    steps = ladder(plugin)
    marked = [m.quality for m in steps if m.default]
    return marked[0] if marked else len(steps) // 2 + 1


def model_for_quality(quality: int | None = None, plugin: str = DEFAULT_LADDER) -> ModelSpec:
    """The ladder's model of ``quality`` (1 = lowest rate; default: the middle)."""
    steps = ladder(plugin)
    if not steps:
        raise LicError(f"plugin {plugin!r} ships no trained models (give --model CKPT)")
    quality = default_quality(plugin) if quality is None else int(quality)
    for spec in steps:
        if spec.quality == quality:
            return spec
    known = ", ".join(str(m.quality) for m in steps)
    raise LicError(f"--quality must be one of {known}, got {quality}")


def weights_path(key: str) -> Path:
    """The weights file of a shipped model (by id or alias), checked to be installed."""
    spec = get_registry().model(key)
    path = spec.path()
    if not path.is_file():
        raise LicError(f"model {spec.id!r}: its weights {spec.weights} are not installed (expected {path})")
    return path


def _names_a_file(arg: str | os.PathLike) -> bool:
    return Path(arg).is_file() or str(arg).endswith(".safetensors")


def checkpoint_path(arg: str | os.PathLike) -> Path:
    """A checkpoint file as given, or the weights file of the shipped model ``arg`` names."""
    return Path(arg) if _names_a_file(arg) else weights_path(str(arg))


def load_model(key: str, device: str = "cpu"):
    """Load a shipped model by id or alias, ready to code (its id set on ``codec.model_id``)."""
    from lic_core.checkpoint import load

    codec = load(weights_path(key), device=device)
    codec.model_id = get_registry().model(key).id
    return codec


def load_codec(model: str | os.PathLike | None = None, quality: int | None = None, device: str = "cpu"):
    """What the CLI codes with: a checkpoint file, a shipped model id, or the default ladder's
    ``quality`` (default: the middle)."""
    from lic_core.checkpoint import load

    if model is None:
        return load_model(model_for_quality(quality).id, device)
    if quality is not None:
        raise LicError("give --model or --quality, not both")
    return load(model, device=device) if _names_a_file(model) else load_model(str(model), device)


def codec_for_stream(data: bytes, device: str = "cpu"):
    """The shipped model a ``.lic`` stream names in its header (a clear error when none)."""
    from lic_core import bitstream

    header, _ = bitstream.unpack(data)
    if not header.model_id:
        raise LicError("the stream names no shipped model: give the checkpoint that encoded it (--model CKPT)")
    try:
        return load_model(header.model_id, device)
    except LicError as exc:
        raise LicError(f"the stream was encoded with model {header.model_id!r}, which is not available here ({exc}); "
                       "install the plugin that ships it or give --model CKPT") from None


def ship(checkpoint: str | os.PathLike, key: str, half: bool = True, **metadata: str) -> Path:
    """Write a trained coding checkpoint as the weights of shipped model ``key`` (its id and
    any ``metadata``, such as the training command, recorded in the file). For maintainers:
    docs/zoo.md lists how every shipped file was made.

    ``half`` rounds the parameters to float16 (half the file size; the rate-distortion change
    is far below measurement noise), then recomputes the coder tables from the rounded
    parameters, so the shipped file is self-consistent.
    """
    import torch

    from lic_core.checkpoint import load, save_codec

    spec = get_registry().model(key)
    codec = load(checkpoint)
    if spec.recipe and codec.recipe.get("name") != spec.recipe:
        raise LicError(f"{checkpoint} was trained from recipe {codec.recipe.get('name')!r}; model {spec.id!r} is {spec.recipe!r}")
    kept = {k[len("lic."):]: v for k, v in codec.checkpoint_metadata.items() if k in ("lic.lambda", "lic.metric", "lic.step")}
    if half:
        with torch.no_grad():
            for p in codec.parameters():
                if p.is_floating_point():
                    p.copy_(p.half().float())
        codec.update(force=True)
    path = spec.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_codec(codec, path, half=half, share_tables=True, **kept, **metadata, model_id=spec.id)
    return path
