"""Plugin-level checks: discovery loaded the plugin, its entry module imports without torch,
and its shipped models (if any) load and code."""

from __future__ import annotations

import os
import subprocess
import sys

from lic_core.testing.result import CheckFailed


def _record(plugin: str):
    from lic_core.discovery import get_registry

    record = get_registry().plugins.get(plugin)
    if record is None:
        raise CheckFailed(f"plugin {plugin!r} is not installed (no entry point in group 'lic'; see `lic plugins list`)")
    return record


def check_discovery(plugin: str) -> str:
    record = _record(plugin)
    if record.status != "ok":
        raise CheckFailed(f"plugin {plugin!r} ({record.distribution}) is {record.status}: {record.error}")
    return f"{record.distribution} {record.version}: {len(record.components)} components, {len(record.recipes)} recipes"


def check_light_entry(plugin: str) -> str:
    module = _record(plugin).module.split(":", 1)[0]
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        "heavy = sorted(m for m in ('torch', 'compressai', 'timm') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CheckFailed(f"importing entry module {module!r} failed: {last}")
    heavy = proc.stdout.strip()
    if heavy:
        raise CheckFailed(f"importing entry module {module!r} imports {heavy} (it must stay light)")
    return f"{module} imports without torch"


def check_models(plugin: str) -> str:
    """Every shipped model's weights are installed, rebuild from their recipe, carry their id,
    and code a small image (compress, then decode with the model the header names)."""
    import torch

    from lic_core.imagecodec import compress_image, decode
    from lic_core.testing.result import CheckSkipped
    from lic_core.zoo import codec_for_stream, load_model

    models = _record(plugin).models
    if not models:
        raise CheckSkipped("the plugin ships no trained models")
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 40, 56, generator=generator)
    for spec in models:
        try:
            codec = load_model(spec.id)
            data = compress_image(codec, x)
            x_hat, header = decode(data, codec_for_stream(data))
        except Exception as exc:
            raise CheckFailed(f"model {spec.id}: {type(exc).__name__}: {exc}") from None
        if codec.checkpoint_metadata.get("lic.model_id") != spec.id:
            raise CheckFailed(f"model {spec.id}: its file records id {codec.checkpoint_metadata.get('lic.model_id')!r}")
        if header.model_id != spec.id or x_hat.shape != x.shape:
            raise CheckFailed(f"model {spec.id}: its stream names {header.model_id!r} and decodes to {tuple(x_hat.shape)}")
    return f"{len(models)} shipped model(s) load and code: {', '.join(m.id for m in models)}"
