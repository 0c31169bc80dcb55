"""Images to and from tensors, and padding to a codec's stride.

:func:`read_image` returns a ``(1, 3, H, W)`` float tensor in ``[0, 1]`` and an
:class:`ImageInfo` saying how to write the result back:

- RGB: as is. RGBA, LA and palette images with transparency: the alpha channel is dropped
  (codecs code colour only).
- L (grayscale, also 1-bit): replicated to three channels; written back as L.
- P (palette): converted to RGB. CMYK, YCbCr, LAB, HSV: converted to RGB.
- 16-bit grayscale PNG (``I;16``/``I``): scaled by 1/65535; written back as 16-bit.
  Pillow reads 16-bit *RGB* PNGs as 8-bit RGB, so those come back with 8 bits.
- JPEG (RGB, grayscale, CMYK) like the above.

Padding (:func:`pad`) replicates the last row and column at the bottom and right, which
costs fewer bits than zeros; :func:`crop` removes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise LicError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            check_size(im.height, im.width, f"image {path}")
            im.load()
            return from_pil(im)
    except UnidentifiedImageError:
        raise LicError(f"{path} is not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise LicError(f"{path}: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise LicError(f"cannot read image {path}: {' '.join(str(exc).split())}") from None


def from_pil(im) -> tuple[Tensor, ImageInfo]:
    """Convert a Pillow image (any mode described in the module docstring)."""
    alpha = im.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (im.mode == "P" and "transparency" in im.info)
    if im.mode in WIDE_MODES:
        array = np.asarray(im, dtype=np.float64).clip(0, 65535) / 65535.0
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


def write_png(x: Tensor, path: str | os.PathLike, channels: int = 3, bit_depth: int = 8) -> None:
    """Write an image tensor to a PNG file atomically (the old file survives a failure)."""
    im = to_pil(x, channels, bit_depth)
    with atomic_open(path) as f:
        im.save(f, format="PNG")


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
