"""Training patches from any folder of images: random crops and flips, fully determined by
(seed, position in the sample stream), so that resuming and sharding need no loader state.

Sample ``p`` of the stream is image ``perm_e[p % n]`` of epoch ``e = p // n`` (``perm_e`` a
seeded permutation), cropped and flipped with a generator seeded by ``(seed, p)``. At global
step ``s`` rank ``r`` of ``W`` reads positions ``(s * W + r) * B ... + B - 1``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from torch import Tensor
from torch.nn import functional as F
from torch.utils.data import Dataset, Sampler

from lic_core.errors import LicError
from lic_core.imageio import read_image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
SMALL_MODES = ("upscale", "pad")


def list_images(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Image files under ``folder`` (matched by extension), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LicError(f"image folder not found: {folder}")
    pattern = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(p for p in pattern if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise LicError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
    return files


def load_rgb(path: str | os.PathLike) -> Tensor:
    """An image file as a (3, H, W) float tensor in [0, 1], read as ``lic compress`` reads it
    (:func:`lic_core.imageio.read_image`: EXIF orientation applied, animations, pixel bombs and
    unreadable files refused with a one-line error; 8-bit values are those of ``k / 255``)."""
    return read_image(path)[0][0]


def fit_to_patch(img: Tensor, patch: int, mode: str = "upscale") -> Tensor:
    """Make both sides at least ``patch``: bicubic upscaling (aspect kept) or reflect/replicate padding."""
    _, h, w = img.shape
    if h >= patch and w >= patch:
        return img
    if mode == "upscale":
        scale = patch / min(h, w)
        size = (max(patch, round(h * scale)), max(patch, round(w * scale)))
        return F.interpolate(img[None], size=size, mode="bicubic", align_corners=False)[0].clamp_(0, 1)
    if mode == "pad":
        ph, pw = max(0, patch - h), max(0, patch - w)
        pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
        reflect_ok = all(p < s for p, s in zip(pad, (w, w, h, h)))
        return F.pad(img[None], pad, mode="reflect" if reflect_ok else "replicate")[0]
    raise ValueError(f"small-image mode must be one of {', '.join(SMALL_MODES)}, got {mode!r}")


class PatchStream(Dataset):
    """Random ``patch`` x ``patch`` crops with random horizontal and vertical flips.

    Indexed by stream position (any non-negative integer); the item is a pure function of
    ``(seed, position)``.
    """

    def __init__(self, files: Sequence[Path], patch: int = 256, seed: int = 0, small: str = "upscale") -> None:
        if not files:
            raise LicError("no training images")
        if patch <= 0:
            raise ValueError(f"patch must be positive, got {patch}")
        if small not in SMALL_MODES:
            raise ValueError(f"small-image mode must be one of {', '.join(SMALL_MODES)}, got {small!r}")
        self.files, self.patch, self.seed, self.small = list(files), int(patch), int(seed), small
        self._perms: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.files)

    def image_index(self, position: int) -> int:
        epoch, i = divmod(int(position), len(self.files))
        perm = self._perms.get(epoch)
        if perm is None:
            perm = np.random.default_rng([self.seed, epoch, 0x5EED]).permutation(len(self.files))
            self._perms = {epoch: perm}  # one epoch cached at a time
        return int(perm[i])

    def __getitem__(self, position: int) -> Tensor:
        img = fit_to_patch(load_rgb(self.files[self.image_index(position)]), self.patch, self.small)
        rng = np.random.default_rng([self.seed, int(position)])
        _, h, w = img.shape
        top = int(rng.integers(0, h - self.patch + 1))
        left = int(rng.integers(0, w - self.patch + 1))
        crop = img[:, top : top + self.patch, left : left + self.patch]
        flips = [d for d, flip in zip((2, 1), rng.random(2) < 0.5) if flip]
        return (crop.flip(flips) if flips else crop).contiguous()


class StepBatches(Sampler[list[int]]):
    """Batches of stream positions for steps ``start .. total - 1`` of one rank."""

    def __init__(self, batch: int, start: int, total: int, rank: int = 0, world: int = 1) -> None:
        self.batch, self.start, self.total, self.rank, self.world = batch, start, total, rank, world

    def __len__(self) -> int:
        return max(0, self.total - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.total):
            first = (step * self.world + self.rank) * self.batch
            yield list(range(first, first + self.batch))


def steps_for_epochs(epochs: float, images: int, batch: int, world: int = 1) -> int:
    """Steps needed to show every image ``epochs`` times with ``world`` ranks of ``batch``."""
    return max(1, int(np.ceil(epochs * images / (batch * world))))


def validation_images(files: Sequence[Path], count: int, crop: int) -> list[Tensor]:
    """The first ``count`` files as (1, 3, H, W) tensors, center-cropped to at most ``crop``."""
    out = []
    for path in list(files)[:count]:
        img = load_rgb(path)
        _, h, w = img.shape
        ch, cw = min(h, crop), min(w, crop)
        top, left = (h - ch) // 2, (w - cw) // 2
        out.append(img[None, :, top : top + ch, left : left + cw].contiguous())
    return out
