"""Images to and from tensors, and padding to a codec's stride.

:func:`read_image` returns a ``(1, 3, H, W)`` float tensor in ``[0, 1]`` and an
:class:`ImageInfo` saying how to write the result back:

- RGB: as is. RGBA, LA and palette images with transparency: the alpha channel is dropped
  (codecs code colour only).
- L (grayscale, also 1-bit): replicated to three channels; written back as L.
- P (palette): converted to RGB. CMYK, YCbCr, LAB, HSV: converted to RGB.
- 16-bit grayscale PNG (``I;16``/``I``): scaled by 1/65535; written back as 16-bit.
  Pillow reads 16-bit *RGB* PNGs as 8-bit RGB, so those come back with 8 bits.
- 32-bit integer (``I``, TIFF): coded as 16-bit grayscale when every value is in
  ``[0, 65535]``; refused otherwise (never clipped).
- floating point (``F``, TIFF): coded as 16-bit grayscale when every value is finite and in
  ``[0, 1]``; refused otherwise (there is no scale to guess).
- JPEG (RGB, grayscale, CMYK) like the above.

EXIF (or TIFF) orientation is applied, so the image is coded as viewers show it and the
decoded image needs no orientation tag. Files with several frames (animated GIF, PNG or
WebP, multi-page TIFF) are refused; an MPO (a JPEG with extra images such as a large preview)
codes its primary image, the one viewers show. Sizes are checked from the file's header
before any pixel is decoded, so a small file declaring a huge image is refused cheaply.

Padding (:func:`pad`) replicates the last row and column at the bottom and right, which
costs fewer bits than zeros; :func:`crop` removes it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lic_core.atomic import atomic_open
from lic_core.errors import LicError

MAX_PIXELS = 1 << 26  # 64 Mpixels: ~0.8 GB as a float tensor, more than any codec here can code
GRAY_MODES = {"1", "L", "LA"}
WIDE_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


@dataclass(frozen=True)
class ImageInfo:
    """How an image was stored: its size, 1 or 3 channels, 8 or 16 bits, and whether an alpha
    channel was dropped on reading."""

    height: int
    width: int
    channels: int = 3
    bit_depth: int = 8
    alpha_dropped: bool = False


def check_size(height: int, width: int, what: str = "image") -> None:
    """Refuse empty images and images too large to code."""
    if height < 1 or width < 1:
        raise LicError(f"{what} is {width}x{height}: it must be at least 1x1 pixels")
    if height * width > MAX_PIXELS:
        raise LicError(f"{what} is {width}x{height}: larger than the {MAX_PIXELS >> 20} Mpixel limit")


def read_image(path: str | os.PathLike) -> tuple[Tensor, ImageInfo]:
    """Read an image file into a ``(1, 3, H, W)`` float tensor in ``[0, 1]`` and its :class:`ImageInfo`."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise LicError(f"image not found: {path}")
    try:
        # Pillow's warnings (a corrupt EXIF block, its own size limit) are silenced: lic's checks speak
        with warnings.catch_warnings(action="ignore"), Image.open(path) as im:
            check_size(im.height, im.width, f"image {path}")  # from the header: nothing decoded yet
            frames = int(getattr(im, "n_frames", 1))
            if frames > 1 and im.format != "MPO":
                raise LicError(
                    f"image {path} has {frames} frames (an animation or a multi-page file): "
                    "lic codes single images, extract one frame first"
                )
            im.load()
            return from_pil(ImageOps.exif_transpose(im), f"image {path}")
    except UnidentifiedImageError:
        raise LicError(f"{path} is not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:  # Pillow's own limit, met while opening: far over lic's
        raise LicError(f"image {path} is larger than the {MAX_PIXELS >> 20} Mpixel limit (Pillow: {exc})") from None
    except LicError:
        raise
    except Exception as exc:  # a malformed file (or EXIF block) in any of Pillow's decoders
        raise LicError(f"cannot read image {path}: {type(exc).__name__}: {' '.join(str(exc).split())}") from None


def from_pil(im, what: str = "image") -> tuple[Tensor, ImageInfo]:
    """Convert a Pillow image (any mode described in the module docstring); ``what`` names it
    in errors."""
    alpha = im.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (im.mode == "P" and "transparency" in im.info)
    if im.mode in WIDE_MODES:
        array = _wide_values(np.asarray(im), what)
        channels, bits = 1, 16
    elif im.mode == "F":
        array = _float_values(np.asarray(im), what)
        channels, bits = 1, 16
    elif im.mode in GRAY_MODES:
        array = np.asarray(im.convert("L"), dtype=np.float64) / 255.0
        channels, bits = 1, 8
    else:
        if im.mode == "P":
            im = im.convert("RGBA" if alpha else "RGB")
        array = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
        channels, bits = 3, 8
    t = torch.from_numpy(array.astype(np.float32))
    t = t.unsqueeze(0).expand(3, -1, -1) if t.ndim == 2 else t.permute(2, 0, 1)
    info = ImageInfo(int(t.shape[1]), int(t.shape[2]), channels, bits, alpha)
    return t.unsqueeze(0).contiguous(), info


def _wide_values(array: np.ndarray, what: str) -> np.ndarray:
    """16- or 32-bit integer gray values scaled to [0, 1]; values outside [0, 65535] are refused."""
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > 65535:
        raise LicError(
            f"{what} is a 32-bit integer image with values in [{low}, {high}]: lic codes 8- and 16-bit "
            "images, so values must be in [0, 65535] (rescale it first)"
        )
    return array.astype(np.float64) / 65535.0


def _float_values(array: np.ndarray, what: str) -> np.ndarray:
    """Floating-point gray values, kept as they are; non-finite or outside [0, 1] is refused."""
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise LicError(f"{what} is a floating-point image with NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        raise LicError(
            f"{what} is a floating-point image with values in [{low:g}, {high:g}]: lic codes floating-point "
            "images with values in [0, 1] (rescale it first)"
        )
    return array


def to_pil(x: Tensor, channels: int = 3, bit_depth: int = 8):
    """A Pillow image from a ``(1, 3, H, W)`` or ``(3, H, W)`` tensor in ``[0, 1]``;
    ``channels=1`` averages the three channels (the inverse of replicating a gray image)."""
    from PIL import Image

    x = x.detach().to("cpu", torch.float32)
    if x.ndim == 4:
        if x.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {x.shape[0]}")
        x = x[0]
    x = x.clamp(0, 1)
    if channels == 1:
        x = x.mean(0, keepdim=True)
    top = 65535 if bit_depth == 16 else 255
    array = torch.round(x * top).permute(1, 2, 0).numpy()
    if channels == 1 and bit_depth == 16:
        return Image.fromarray(array[..., 0].astype(np.uint16))
    if bit_depth == 16:  # Pillow cannot write 16-bit RGB: keep the 8 most significant bits
        array = np.round(array / 257.0)
    array = array.astype(np.uint8)
    return Image.fromarray(array[..., 0] if channels == 1 else array)


def write_png(
    x: Tensor, path: str | os.PathLike, channels: int = 3, bit_depth: int = 8, inputs: Iterable[str | os.PathLike] = ()
) -> None:
    """Write an image tensor to a PNG file atomically (the old file survives a failure; a path
    that is not a regular file, or is one of ``inputs``, is refused: see :mod:`lic_core.atomic`)."""
    im = to_pil(x, channels, bit_depth)
    with atomic_open(path, inputs) as f:  # zlib level 1: 3-4x faster than Pillow's 6, no larger on photos
        im.save(f, format="PNG", compress_level=1)


def pad(x: Tensor, stride: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad ``x`` at the bottom and right to a multiple of ``stride`` (replicating edge pixels);
    returns the padded tensor and ``(rows, columns)`` added."""
    h, w = x.shape[-2:]
    rows, cols = (-h) % stride, (-w) % stride
    if rows or cols:
        x = F.pad(x, (0, cols, 0, rows), mode="replicate")
    return x, (rows, cols)


def crop(x: Tensor, height: int, width: int) -> Tensor:
    """Remove padding: the top-left ``height`` x ``width`` pixels."""
    return x[..., :height, :width]
