"""Emulating another device's floating point when decoding, to test cross-device decoding.

A stream encoded on one device and decoded on another sees entropy parameters (scales, means)
that differ in their last bits. :func:`perturbed_parameters` reproduces that on one machine:
while active, the outputs of a codec's entropy-parameter networks (the hyper synthesis and
every ``entropy_parameters`` net of a context coder) are multiplied by ``1 + rel * sign`` with
a random sign per element. :func:`classify_decode` says what a decoder did with a stream:
decoded it exactly, refused it with the drift error, or (what must never happen) output an
image other than the reference decode.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor, nn

from lic_core.errors import BitstreamError


def entropy_parameter_modules(codec: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules whose outputs are entropy parameters: ``*.hyper.synthesis`` and every
    ``*.entropy_parameters`` (each item of a per-stage list)."""
    found = []
    for name, module in codec.named_modules():
        if name.endswith("hyper.synthesis"):
            found.append((name, module))
        elif name.endswith("entropy_parameters"):
            items = list(module.named_children()) if isinstance(module, nn.ModuleList) else [("", module)]
            found += [(f"{name}.{n}" if n else name, m) for n, m in items]
    return found


@contextmanager
def perturbed_parameters(codec: nn.Module, rel: float, seed: int = 0) -> Iterator[int]:
    """Within the block, every entropy-parameter net's output is ``out * (1 + rel * sign)``
    with independent random signs (a generator seeded by ``seed``). Yields the number of nets."""
    modules = entropy_parameter_modules(codec)
    if not modules:
        raise ValueError("the codec has no entropy-parameter nets (hyper.synthesis, entropy_parameters) to perturb")
    gen = torch.Generator().manual_seed(int(seed))

    def hook(_module: nn.Module, _inputs: tuple, out: Tensor) -> Tensor:
        sign = torch.randint(0, 2, out.shape, generator=gen).to(out.device, out.dtype) * 2 - 1
        return out * (1 + rel * sign)

    handles = [m.register_forward_hook(hook, prepend=True) for _, m in modules]  # before make_exact's hooks
    try:
        yield len(modules)
    finally:
        for h in handles:
            h.remove()


def decode_any_dtype(data: bytes, codec: nn.Module) -> Tensor:
    """:func:`lic_core.imagecodec.decode` for a codec converted to another dtype (``.double()``),
    whose weights digest no longer matches the stream's: the digests are not checked, the
    latent check is (the same drift error)."""
    from lic_core import bitstream
    from lic_core.imagecodec import latent_check
    from lic_core.imageio import crop

    from lic_core.coding.table_coder import legacy_rans

    header, strings = bitstream.unpack(data)
    codec.eval()
    with torch.inference_mode(), legacy_rans(header.version < bitstream.ANS_VERSION):
        try:
            out = codec.decompress(strings, header.shape)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise BitstreamError(f"decoder drift: decoding failed ({type(exc).__name__})") from None
    if header.commit(latent_check(out["y_hat"])) != header.latent_check:  # version 2 also commits the image fields
        raise BitstreamError("decoder drift: the decoded latents differ from the encoder's")
    return crop(out["x_hat"], header.height, header.width).clone()


def classify_decode(
    data: bytes, codec: nn.Module, reference: Tensor, close: float = 1e-3, check_digests: bool = True
) -> tuple[str, float]:
    """Decode ``data`` with ``codec`` and compare with ``reference`` (the encoder device's
    decode): ``("exact", 0)``, ``("close", d)`` (latents exact, the image differs by at most
    ``close`` because the means did), ``("drift-error", nan)`` or ``("wrong", d)``.
    ``check_digests=False`` decodes with :func:`decode_any_dtype`."""
    from lic_core.imagecodec import decompress_image

    try:
        x_hat = decompress_image(data, codec) if check_digests else decode_any_dtype(data, codec)
    except BitstreamError as exc:
        if str(exc).startswith("decoder drift"):
            return "drift-error", float("nan")
        raise
    if x_hat.shape != reference.shape:
        return "wrong", float("inf")
    diff = float((x_hat.float().cpu() - reference.float().cpu()).abs().max())
    if diff == 0.0:
        return "exact", 0.0
    return ("close" if diff <= close else "wrong"), diff
