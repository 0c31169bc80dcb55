"""Coding checkpoints: safetensors files whose metadata holds the recipe and versions.

A checkpoint holds :meth:`Codec.coding_state_dict` (training-only modules excluded, the CDF
tables of the entropy coders included, so a loaded codec codes at once) and string metadata:

========================= ==============================================================
``lic.format``             ``lic-checkpoint/1``
``lic.recipe``             the codec's normalized recipe (JSON)
``lic.core_version``       the lic-core version that wrote it
``lic.plugins``            ``{plugin: version}`` of the plugins providing the recipe's ids
``lic.lambda``/``metric``  the training trade-off, when given
``lic.step``               the training step, when given
``lic.shared_tables``      where large coder tables stored once for several files are
                           (:mod:`lic_core.shared_tables`), when saved with ``share_tables``
``lic.<key>``              any other keyword given to :func:`save_codec` (``model_id`` ...)
========================= ==============================================================

Pickles are never loaded. :func:`weights_digest` and :func:`recipe_digest` identify a model
inside ``.lic`` streams.

A file is untrusted input: :func:`load` builds its recipe within a size budget
(:mod:`lic_core.budget`), compares the file's keys, shapes and dtypes with the codec before
reading any tensor, then refuses non-finite values and coder tables CompressAI's coder cannot
use (:func:`lic_core.coding.tables.check_tables`); every refusal is one :class:`CheckpointError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch

from lic_core import budget, shared_tables
from lic_core.atomic import atomic_write_bytes
from lic_core.errors import CheckpointError, CompositionError, LicError
from lic_core.layers.masked import drop_saved_masks
from lic_core.version import __version__

FORMAT = "lic-checkpoint/1"
# coder-table buffers: empty in a fresh codec, sized by update(); Codec.load_state_dict resizes them
TABLE_BUFFERS = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")
# recipe keys that do not change how a stream is coded
NON_CODING_KEYS = ("name", "description", "paper", "train", "losses")
# safetensors dtype names; floating parameters may be stored in any of the floating ones
DTYPES = {
    "F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64,
    "I8": torch.int8, "I16": torch.int16, "I32": torch.int32, "I64": torch.int64, "U8": torch.uint8, "BOOL": torch.bool,
}  # fmt: skip


def _component_ids(node: Any) -> set[str]:
    if isinstance(node, Mapping):
        ids = {str(node["id"])} if "id" in node else set()
        for value in node.values():
            ids |= _component_ids(value)
        return ids
    if isinstance(node, (list, tuple)):
        return set().union(*(_component_ids(v) for v in node)) if node else set()
    return set()


def plugin_versions(recipe: Mapping[str, Any]) -> dict[str, str]:
    """``{plugin: version}`` of the plugins that provide the components a recipe uses."""
    from lic_core.discovery import get_registry

    registry = get_registry()
    out: dict[str, str] = {}
    for cid in sorted(_component_ids(recipe)):
        try:
            record = registry.owner(registry.component(cid).id)
        except Exception:  # an id discovery no longer knows: the recipe still records it
            continue
        out[record.name] = record.version
    return out


def save_codec(
    codec: torch.nn.Module, path: str | os.PathLike, half: bool = False, share_tables: bool = False, **metadata: Any
) -> None:
    """Write ``codec``'s coding state to ``path`` (safetensors, atomically) with lic metadata.

    ``lmbda``/``lambda``, ``metric`` and ``step`` are recorded as ``lic.lambda``, ``lic.metric``
    and ``lic.step``; any other keyword ``k`` as ``lic.k`` (values become strings).
    ``half`` stores floating-point parameters as float16 (buffers and coder tables as they
    are), halving shipped files; loading upcasts them, so the file codes exactly as the
    loaded codec does (round the parameters and update the tables first, as
    :func:`lic_core.zoo.ship` does, so that the tables match the stored parameters).
    ``share_tables`` stores the large coder tables in a file beside ``path`` that other
    checkpoints with the same tables share (:mod:`lic_core.shared_tables`).
    """
    from safetensors.torch import save

    recipe = dict(getattr(codec, "recipe", {}) or {})
    if not recipe:
        raise CheckpointError("cannot save a codec without a recipe (build it with lic_core.compose)")
    meta = {
        "lic.format": FORMAT,
        "lic.recipe": json.dumps(recipe, sort_keys=True),
        "lic.core_version": __version__,
        "lic.plugins": json.dumps(plugin_versions(recipe), sort_keys=True),
    }
    if "lmbda" in metadata:
        metadata["lambda"] = metadata.pop("lmbda")
    for key, value in metadata.items():
        if value is not None:
            meta[f"lic.{key}"] = value if isinstance(value, str) else json.dumps(value)
    # clone: safetensors refuses tensors that share memory
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in codec.coding_state_dict().items()}
    if half:
        params = {name for name, p in codec.named_parameters() if p.is_floating_point()}
        tensors = {k: v.half() if k in params else v for k, v in tensors.items()}
        meta["lic.parameters_dtype"] = "float16"
    if share_tables:
        tensors, shared = shared_tables.split(tensors, {k for k in tensors if k.rsplit(".", 1)[-1] in TABLE_BUFFERS})
        if shared:
            meta[shared_tables.KEY] = shared_tables.write(Path(path).parent, shared)
    atomic_write_bytes(path, save(tensors, metadata=meta))


save = save_codec


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The lic metadata of a checkpoint (a one-line :class:`CheckpointError` if it has none)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:
        raise CheckpointError(f"{path} is not a safetensors file ({_one_line(exc)})") from None
    if "lic.recipe" not in meta or "lic.format" not in meta:
        raise CheckpointError(f"{path} is a safetensors file without lic metadata (not a lic checkpoint)")
    if meta["lic.format"] != FORMAT:
        raise CheckpointError(f"{path}: unknown checkpoint format {meta['lic.format'][:40]!r} (this lic reads {FORMAT})")
    _recipe(path, meta)  # valid JSON, a mapping, not nested too deeply: readers may parse it
    for key, kind in (("lic.lambda", float), ("lic.step", int)):
        try:
            if key in meta:
                kind(meta[key])
        except ValueError:
            raise CheckpointError(f"{path}: {key} is not a number") from None
    if shared_tables.KEY in meta:
        shared_tables.reference(path, meta[shared_tables.KEY])
    return meta


def _recipe(path: str | os.PathLike, meta: Mapping[str, str]) -> dict[str, Any]:
    from lic_core.composition import check_depth

    try:
        recipe = json.loads(meta["lic.recipe"])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: lic.recipe is not valid JSON ({exc})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: lic.recipe is nested too deeply") from None
    if not isinstance(recipe, dict):
        raise CheckpointError(f"{path}: lic.recipe is a JSON {type(recipe).__name__}, not a mapping")
    try:
        check_depth(recipe, "lic.recipe")
    except CompositionError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return recipe


def _read_header(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The file's tensors as meta tensors (names, shapes, dtypes; no data read)."""
    from safetensors import safe_open

    out = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            for key in f.keys():
                view = f.get_slice(key)
                dtype, shape = view.get_dtype(), tuple(view.get_shape())
                if dtype not in DTYPES:
                    raise CheckpointError(f"{path}: {key} has dtype {dtype}, which lic checkpoints do not use")
                out[key] = torch.empty(shape, dtype=DTYPES[dtype], device="meta")
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read its tensors ({_one_line(exc)})") from None
    return out


def _read_tensors(path: str | os.PathLike, keys: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
    """A checkpoint's tensors (only ``keys`` when given) on the CPU, or a one-line :class:`CheckpointError`."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in (f.keys() if keys is None else keys)}
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read its tensors ({_one_line(exc)})") from None


def _load_tensors(codec: torch.nn.Module, path: str | os.PathLike, meta: Mapping[str, str]) -> None:
    """Load the file's tensors (with the shared tables it names) into ``codec`` once their
    keys, shapes, dtypes (from the headers, before reading them) and values check out."""
    from lic_core.coding.tables import check_table_shapes, check_tables

    expected = codec.coding_state_dict()
    header = drop_saved_masks(codec, _read_header(path))
    tables = shared_tables.locate(path, meta[shared_tables.KEY]) if shared_tables.KEY in meta else None
    shared = _read_header(tables) if tables else {}
    if shared.keys() & header.keys():
        raise CheckpointError(f"{path}: {_some(sorted(shared.keys() & header.keys()))} both in it and in {tables.name}")
    header = {**header, **shared}
    check_state(expected, header, str(path))
    check_dtypes(expected, header, str(path))
    check_table_shapes(codec, {k: tuple(v.shape) for k, v in header.items()}, str(path))
    state = _read_tensors(path, header.keys() - shared.keys())
    if tables:
        state.update(_read_tensors(tables, shared))
    check_finite(state, str(path))
    check_tables(codec, state, str(path))
    codec.load_state_dict(state)


def load(path: str | os.PathLike, device: str | torch.device = "cpu", max_params: int | None = None) -> torch.nn.Module:
    """Rebuild the codec a checkpoint was saved from, ready to code, in eval mode on ``device``.

    ``max_params`` bounds the codec its recipe may build, in tensor elements (parameters and
    buffers together; default ``$LIC_MAX_PARAMS``, else 2^27 = 134 M): a larger recipe is
    refused before its tensors are allocated. Raise it for large files you trust.
    """
    import lic_core

    limit = budget.max_params(max_params)
    meta = read_metadata(path)
    recipe = _recipe(path, meta)
    try:
        with budget.size_budget(limit, skip_init=True):  # the file gives every parameter
            codec = lic_core.compose(recipe, training=False)
    except budget.BudgetExceeded as exc:
        raise CheckpointError(
            f"{path}: its recipe is too large: {exc} (raise it with max_params=, {budget.ENV} or --max-params for a file you trust)"
        ) from None
    except LicError as exc:
        raise CheckpointError(f"{path}: cannot rebuild its recipe: {exc}") from None
    _load_tensors(codec, path, meta)
    if not has_tables(codec):
        from lic_core.coding.tables import check_planned_tables

        check_planned_tables(codec, str(path))
        try:  # tables sized by the file's quantiles and the recipe: bounded like the build
            with budget.size_budget(limit):
                codec.update()
        except LicError as exc:
            raise CheckpointError(f"{path}: cannot build its coder tables: {exc}") from None
        except (RuntimeError, ValueError) as exc:  # an allocation torch refused, a pmf CompressAI did
            raise CheckpointError(f"{path}: cannot build its coder tables ({_one_line(exc)[:200]})") from None
    codec.checkpoint_metadata = meta
    codec.model_id = meta.get("lic.model_id")
    return codec.to(device).eval()


def load_weights(codec: torch.nn.Module, path: str | os.PathLike) -> dict[str, str]:
    """Load a checkpoint's coding weights into ``codec`` (to fine-tune it, for example at
    another lambda); the checkpoint's recipe must code the same way as the codec's.

    :return: the checkpoint's metadata.
    """
    meta = read_metadata(path)
    recipe = _recipe(path, meta)
    if recipe_digest(recipe) != recipe_digest(codec.recipe):
        raise CheckpointError(f"{path} was saved from another recipe ({recipe.get('name', 'unnamed')}) than this codec's")
    _load_tensors(codec, path, meta)
    return meta


def load_matching_weights(codec: torch.nn.Module, path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Warm-start ``codec`` from a checkpoint of another recipe: load the tensors whose names and
    shapes match (coder tables excepted: ``update`` rebuilds them); the rest keep their fresh values.

    :return: ``(loaded, fresh)``: the codec's coding-state keys taken from the file, and the others.
    """
    read_metadata(path)
    own = codec.coding_state_dict()
    take = [
        k for k, v in _read_header(path).items()
        if k in own and tuple(v.shape) == tuple(own[k].shape) and k.rsplit(".", 1)[-1] not in TABLE_BUFFERS
        and (v.dtype.is_floating_point if own[k].is_floating_point() else v.dtype == own[k].dtype)
    ]  # fmt: skip
    if not set(take) & dict(codec.named_parameters()).keys():
        raise CheckpointError(f"{path}: no weight matches this codec's names, shapes and dtypes")
    take = _read_tensors(path, take)
    check_finite(take, str(path))
    # nn.Module's loader: CompressAI's (the codec's) requires the coder tables that this leaves out
    torch.nn.Module.load_state_dict(codec, take, strict=False)
    return sorted(take), sorted(k for k in own if k not in take)


def check_dtypes(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor], where: str) -> None:
    """Refuse a tensor whose dtype cannot stand for the codec's: floating for floating (any
    width: shipped files store float16), the very dtype otherwise (int32 coder tables)."""
    for key in sorted(expected.keys() & found.keys()):
        want, got = expected[key].dtype, found[key].dtype
        ok = got.is_floating_point if want.is_floating_point else got == want
        if not ok:
            kind = "floating point" if want.is_floating_point else str(want).replace("torch.", "")
            raise CheckpointError(f"{where}: {key} is {str(got).replace('torch.', '')} in the file but must be {kind}")


def check_finite(state: Mapping[str, torch.Tensor], where: str) -> None:
    """Refuse NaN and infinite values in floating tensors, naming the first such tensor."""
    for key in sorted(state):
        t = state[key]
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise CheckpointError(f"{where}: {key} holds {bad} non-finite value(s) (NaN or infinity)")


def check_state(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor], where: str) -> None:
    """Raise a one-line :class:`CheckpointError` naming missing/unexpected keys and shape mismatches."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing keys {_some(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_some(unexpected)}")
    shapes = []
    for key in sorted(set(expected) & set(found)):
        want, got = expected[key], found[key]
        resizable = key.rsplit(".", 1)[-1] in TABLE_BUFFERS  # Codec.load_state_dict resizes them; check_table_shapes bounds them
        if not resizable and tuple(want.shape) != tuple(got.shape):
            shapes.append(f"{key} is {tuple(got.shape)} in the file but {tuple(want.shape)} in the recipe")
    if shapes:
        more = f" (+{len(shapes) - 2} more)" if len(shapes) > 2 else ""
        problems.append("shape mismatch: " + "; ".join(shapes[:2]) + more)
    if problems:
        raise CheckpointError(f"{where} does not match its recipe: " + "; ".join(problems))


def _some(keys: list[str], n: int = 3) -> str:
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def has_tables(codec: torch.nn.Module) -> bool:
    """Whether every entropy coder inside ``codec`` has its CDF table (``update()`` was run)."""
    from compressai.entropy_models import EntropyModel as _Coder

    return all(m._offset.numel() > 0 for m in codec.modules() if isinstance(m, _Coder))


def weights_digest(codec: torch.nn.Module) -> bytes:
    """SHA-256 over the coding state (sorted keys; each key's name, dtype, shape and bytes).

    Cached on the codec until a tensor is replaced or modified in place.
    """
    state = codec.coding_state_dict()
    key = tuple((k, v.data_ptr(), v._version, tuple(v.shape)) for k, v in sorted(state.items()))
    cached = codec.__dict__.get("_lic_weights_digest")
    if cached is not None and cached[0] == key:
        return cached[1]
    h = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        t = tensor.detach().to("cpu").contiguous()
        h.update(f"{name}|{str(t.dtype)}|{tuple(t.shape)}|".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().data)
    digest = h.digest()
    codec.__dict__["_lic_weights_digest"] = (key, digest)
    return digest


def recipe_digest(recipe: Mapping[str, Any]) -> bytes:
    """SHA-256 of the recipe's canonical JSON, without keys that do not affect coding
    (name, description, paper, train, losses)."""
    coding = {k: v for k, v in recipe.items() if k not in NON_CODING_KEYS}
    text = json.dumps(coding, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).digest()
