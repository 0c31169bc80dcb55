"""Images to ``.lic`` bytes and back with a codec: padding, container, digests, drift check.

The encoder records a check value of its latents (CRC32 of ``round(y_hat)`` as little-endian
int32, continued over the header's image fields since format version 2); the decoder recomputes
it from its own latents and refuses to output an image when they differ (the entropy
parameters were computed differently, for example on another machine, or the stream was
altered), rather than returning garbage. Before any decoding, the header is checked against
the model (:func:`check_header`), so the work a stream can ask for is what its image size implies.
"""

from __future__ import annotations

import os
import weakref
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import Tensor

from lic_core import bitstream
from lic_core.atomic import atomic_write_bytes
from lic_core.bitstream import Header
from lic_core.checkpoint import has_tables, recipe_digest, weights_digest
from lic_core.coding.one_thread import caller_threads
from lic_core.coding.table_coder import legacy_rans, using_legacy_rans
from lic_core.errors import BitstreamError, LicError
from lic_core.imageio import ImageInfo, check_size, crop, pad, read_image, write_png


@dataclass(frozen=True)
class Compressed:
    """What :func:`compress_file` wrote."""

    path: Path
    bytes: int
    height: int
    width: int
    alpha_dropped: bool = False

    @property
    def bpp(self) -> float:
        return 8.0 * self.bytes / (self.height * self.width)


def latent_check(y_hat: Tensor) -> int:
    """CRC32 of ``round(y_hat)`` as little-endian int32 (what the decoder must reproduce)."""
    symbols = torch.round(y_hat.detach()).to("cpu", torch.int32).contiguous().numpy().astype("<i4", copy=False)
    return zlib.crc32(symbols.tobytes())


def _device(codec: torch.nn.Module) -> torch.device:
    p = next(codec.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@contextmanager
def _coding(codec: torch.nn.Module) -> Iterator[None]:
    """Eval mode and inference mode for the duration of a call; the codec's mode is restored."""
    if not has_tables(codec):
        raise LicError("the codec has no entropy-coder tables: call codec.update(force=True) or load a checkpoint")
    was_training = codec.training
    codec.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        codec.train(was_training)


def _as_image(image: Tensor | str | os.PathLike) -> tuple[Tensor, ImageInfo]:
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    if not isinstance(image, Tensor):
        raise LicError(f"an image is a tensor or a path, not {type(image).__name__}")
    if not image.is_floating_point():
        raise LicError(f"an image tensor must be floating point in [0, 1], got {image.dtype}")
    x = image.unsqueeze(0) if image.ndim == 3 else image
    if x.ndim != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        raise LicError(f"an image tensor must be (1, 3, H, W) or (3, H, W), got {tuple(image.shape)}")
    check_size(int(x.shape[2]), int(x.shape[3]))
    return x, ImageInfo(int(x.shape[2]), int(x.shape[3]))


def compress_image(codec: torch.nn.Module, image: Tensor | str | os.PathLike, model_id: str | None = None) -> bytes:
    """The ``.lic`` bytes of one image (a ``(1, 3, H, W)`` tensor in [0, 1] or an image file).

    ``model_id`` (default: ``codec.model_id`` when set) names a shipped model in the header.
    """
    x, info = _as_image(image)
    return _encode(codec, x, info, model_id)


def _encode(codec: torch.nn.Module, x: Tensor, info: ImageInfo, model_id: str | None) -> bytes:
    x = x.to(_device(codec), torch.float32)
    padded, padding = pad(x, int(codec.stride))
    with _coding(codec):
        enc = codec.compress(padded)
    header = Header(
        recipe_digest=recipe_digest(codec.recipe),
        weights_digest=weights_digest(codec),
        latent_check=0,
        height=info.height,
        width=info.width,
        channels=info.channels,
        bit_depth=info.bit_depth,
        pad=padding,
        shape=tuple(int(s) for s in enc["shape"]),
        model_id=model_id if model_id is not None else getattr(codec, "model_id", None),
        version=bitstream.VERSION if not using_legacy_rans() else bitstream.ANS_VERSION - 1,  # what the strings are
    )
    header = replace(header, latent_check=header.commit(latent_check(enc["y_hat"])))
    try:
        return bitstream.pack(header, enc["strings"])
    except ValueError as exc:  # e.g. a model id from a checkpoint's metadata too long for the header
        raise LicError(f"cannot write a .lic stream: {' '.join(str(exc).split())[:200]}") from None


_skeletons: "weakref.WeakKeyDictionary[torch.nn.Module, Any]" = weakref.WeakKeyDictionary()


def _skeleton(strings: Any) -> Any:
    """The nesting of ``strings``: ``None`` for a string, a tuple of its items' for a list."""
    if isinstance(strings, (bytes, bytearray)):
        return None
    return tuple(_skeleton(item) for item in strings)


def _expected_skeleton(codec: torch.nn.Module) -> Any:
    """The nesting ``codec.compress`` gives one image (from a blank ``stride`` x ``stride`` one,
    cached per codec); ``False`` when the codec cannot code that probe."""
    if codec not in _skeletons:
        s = int(codec.stride)
        try:
            with _coding(codec):
                _skeletons[codec] = _skeleton(codec.compress(torch.zeros(1, 3, s, s, device=_device(codec)))["strings"])
        except Exception:  # a codec that needs larger images: the structure is checked while decoding
            _skeletons[codec] = False
    return _skeletons[codec]


def check_header(header: Header, strings: Any, codec: torch.nn.Module) -> None:
    """Refuse a header that does not fit ``codec`` before any decoding: image size within the
    limits, padding exactly what ``codec.stride`` needs, the latent shape the model gives the
    padded image, the nesting of streams the model writes. One-line :class:`BitstreamError`."""
    try:
        check_size(header.height, header.width)
    except LicError as exc:
        raise BitstreamError(f"invalid .lic header ({exc})") from None
    s = int(codec.stride)
    pad = ((-header.height) % s, (-header.width) % s)
    if header.pad != pad:
        raise BitstreamError(
            f"invalid .lic header (padding of {header.pad[0]} rows and {header.pad[1]} columns; this model pads a "
            f"{header.width}x{header.height} image by {pad[0]} and {pad[1]} to its stride {s})"
        )
    latent_shape = getattr(codec, "latent_shape", None)
    if latent_shape is not None:
        shape = tuple(latent_shape(header.height + pad[0], header.width + pad[1]))
        if header.shape != shape:
            raise BitstreamError(
                f"invalid .lic header (latent shape {'x'.join(map(str, header.shape)) or 'empty'}; this model codes a "
                f"{header.width}x{header.height} image with {'x'.join(map(str, shape))} latents)"
            )
    expected = _expected_skeleton(codec)
    if expected is not False and _skeleton(strings) != expected:
        raise BitstreamError("invalid .lic header (its stream tree is not the one this model writes)")


def _decompress(codec: torch.nn.Module, strings, header: Header) -> dict[str, Tensor]:
    """``codec.decompress`` with the entropy coder of the stream's version (CompressAI's rANS
    before version 3, :func:`~lic_core.coding.table_coder.legacy_rans`; constriction's ANS since)."""
    with _coding(codec), legacy_rans(header.version < bitstream.ANS_VERSION):
        try:
            return codec.decompress(strings, header.shape)
        except LicError:
            raise
        except Exception as exc:  # every decoding failure is a stream error, never a traceback
            raise BitstreamError(
                f"decoder drift: decoding a stream that passed its checksums failed ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:200]})"
            ) from None


def decode(data: bytes, codec: torch.nn.Module) -> tuple[Tensor, Header]:
    """Decode ``.lic`` bytes: the cropped ``(1, 3, H, W)`` image and the stream's header."""
    header, strings = bitstream.unpack(data)
    header.check_model(recipe_digest(codec.recipe), weights_digest(codec))
    check_header(header, strings, codec)
    out = _decompress(codec, strings, header)
    exact = header.commit(latent_check(out["y_hat"])) == header.latent_check
    if not exact and header.version == 1 and torch.get_num_threads() > 1:
        # version 1 was written by encoders whose entropy parameters used the caller's threads
        # (lic_core.coding.one_thread); version 2's never do, so a retry could not help them
        with caller_threads():
            out = _decompress(codec, strings, header)
        exact = header.commit(latent_check(out["y_hat"])) == header.latent_check
    if not exact:
        raise BitstreamError(
            "decoder drift: the decoded latents or image fields differ from the encoder's (the stream was "
            "altered, or the entropy parameters were computed differently, e.g. floating-point differences "
            "between machines); no image is output"
        )
    x_hat = out["x_hat"]
    expected = (header.height + header.pad[0], header.width + header.pad[1])
    if tuple(x_hat.shape[-2:]) != expected:
        raise BitstreamError(f"stream decodes to {tuple(x_hat.shape[-2:])} pixels, its header says {expected}")
    return crop(x_hat, header.height, header.width).clone(), header


def decompress_image(data: bytes, codec: torch.nn.Module) -> Tensor:
    """The ``(1, 3, H, W)`` image in [0, 1] coded in ``data`` (checked against ``codec``)."""
    return decode(data, codec)[0]


def compress_file(
    codec: torch.nn.Module, in_path: str | os.PathLike, out_path: str | os.PathLike, model_id: str | None = None
) -> Compressed:
    """Compress an image file to a ``.lic`` file (written atomically)."""
    x, info = read_image(in_path)
    data = _encode(codec, x, info, model_id)
    atomic_write_bytes(out_path, data, inputs=(in_path,))  # never replaces the input
    return Compressed(Path(out_path), len(data), info.height, info.width, info.alpha_dropped)


def read_stream(path: str | os.PathLike) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise LicError(f"stream not found: {path}")
    return path.read_bytes()


def decompress_file(in_path: str | os.PathLike, out_path: str | os.PathLike, codec: torch.nn.Module | None = None) -> Header:
    """Decode a ``.lic`` file to a PNG (written atomically; gray and 16-bit as they were read).

    Without ``codec``, the shipped model the stream's header names is used.
    """
    data = read_stream(in_path)
    if codec is None:
        from lic_core.zoo import codec_for_stream

        try:
            codec = codec_for_stream(data)
        except LicError as exc:
            raise LicError(f"{in_path}: {exc}") from None
    x_hat, header = decode(data, codec)
    write_png(x_hat, out_path, header.channels, header.bit_depth, inputs=(in_path,))
    return header
