"""Exact entropy parameters: the decoder-side parameter nets evaluated in integer arithmetic.

Across devices a float decoder computes the scales and means in a different order or
precision (another BLAS, GPU kernels, float64), and any deterministic map from reals to
integers (a scale index, ``round(y - mean)``) has boundaries: a value within the decoders'
difference of a boundary falls on the other side, and margins only make that rarer, never
impossible. Exactness needs the *same numbers* on both sides, as in Ballé et al. 2019
("Integer networks for data compression with latent-variable models"). Here the shipped float
weights are used post-training in fixed point:

- activations on a grid of ``2**-act_bits`` (integers clamped to ``+-2**22``), weights on
  ``2**-weight_bits``; each conv's products and sums are integers below ``2**53``, computed
  in float64, so every summation order (CPU, GPU, split-K) gives the same exact result
  (the bound is checked from the weights at every use);
- rescaling (``round(acc / 2**weight_bits)``), ReLU and LeakyReLU (its slope an integer over
  ``2**weight_bits``) are exact integer operations too, and pixel shuffles only move values;
- the Gaussian coder picks a scale's table row by comparing with the geometric midpoints of
  the table (float64 products and square roots, correctly rounded everywhere) instead of a
  logarithm (:func:`lic_core.coding.gaussian.exact_indexes`).

The inputs of these nets are ``z_hat`` (integers plus the bottleneck's medians) and the
decoded ``y_hat`` (integers plus means on the grid): equal on both sides, so the whole
latent decode is exact on any device and in any float dtype. Only the image synthesis still
differs in its last bits. The nets keep their float forward in training; :func:`make_exact`
adds forward hooks that replace their outputs in eval mode and records
``exact: {act_bits, weight_bits}`` in the codec's recipe (so its streams carry another
recipe digest and a float codec refuses them).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lic_core.errors import LicError

ACT_BITS, WEIGHT_BITS = 10, 16
SUPPORTED = (nn.Sequential, nn.Conv2d, nn.ConvTranspose2d, nn.ReLU, nn.LeakyReLU, nn.Identity, nn.PixelShuffle)
ACT_LIMIT = 2**22  # activations' integer bound: also exact in float32 with headroom for sums
EXACT_LIMIT = 2**53  # float64 holds every integer below this exactly


class ExactRangeError(LicError, ValueError):
    """A conv's weights are too large for exact integer sums at the chosen precision."""


def to_grid(x: Tensor, bits: int) -> Tensor:
    """``x`` as integers on the ``2**-bits`` grid (float64, clamped to ``+-ACT_LIMIT``)."""
    return torch.floor(x.double() * 2.0**bits + 0.5).clamp_(-ACT_LIMIT, ACT_LIMIT)


def _conv_weight(conv: nn.Module) -> Tensor:
    w = conv.weight
    mask = getattr(conv, "mask", None)
    return w * mask if isinstance(mask, Tensor) else w


def _integer_params(conv: nn.Module, act_bits: int, weight_bits: int) -> tuple[Tensor, Tensor | None]:
    """The conv's weight and bias as integers (float64); ``ValueError`` when a sum over grid
    inputs could reach ``2**53`` (``sum |w|`` times the activation bound, plus ``|b|``)."""
    transposed = isinstance(conv, nn.ConvTranspose2d)
    w = torch.round(_conv_weight(conv).detach().double() * 2.0**weight_bits)
    b = None if conv.bias is None else torch.round(conv.bias.detach().double() * 2.0 ** (act_bits + weight_bits))
    per_out = (w.transpose(0, 1) if transposed else w).abs().flatten(1).sum(1)
    worst = float((per_out * ACT_LIMIT + (0.0 if b is None else b.abs())).max()) + 2**weight_bits
    if not worst < EXACT_LIMIT:  # also catches NaN; a LicError: the CLI prints it as one line
        raise ExactRangeError(f"exact entropy parameters: a {type(conv).__name__}'s integer sums may reach 2**53 "
                              "(weights too large for weight_bits)")  # fmt: skip
    return w, b


def _exact_conv(conv: nn.Module, a: Tensor, act_bits: int, weight_bits: int) -> Tensor:
    transposed = isinstance(conv, nn.ConvTranspose2d)
    w, b = _integer_params(conv, act_bits, weight_bits)
    with torch.backends.cudnn.flags(enabled=False):  # no FFT/Winograd algorithms: plain sums only
        if transposed:
            acc = F.conv_transpose2d(a, w, b, conv.stride, conv.padding, conv.output_padding, conv.groups, conv.dilation)
        else:
            acc = F.conv2d(a, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)
    return _rescale(acc, weight_bits)


def _rescale(acc: Tensor, bits: int) -> Tensor:
    """``round(acc / 2**bits)`` of integers ``acc``, every step exact (immune to FMA fusion)."""
    return torch.floor((acc + float(2 ** (bits - 1) if bits else 0)) * 2.0**-bits).clamp_(-ACT_LIMIT, ACT_LIMIT)


def exact_forward(module: nn.Module, a: Tensor, act_bits: int, weight_bits: int) -> Tensor:
    """``module`` applied to grid integers ``a`` (float64), giving grid integers."""
    if isinstance(module, nn.Sequential):
        for m in module:
            a = exact_forward(m, a, act_bits, weight_bits)
        return a
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        return _exact_conv(module, a, act_bits, weight_bits)
    if isinstance(module, nn.ReLU):
        return a.clamp(min=0)
    if isinstance(module, nn.LeakyReLU):  # the slope as an integer over 2**weight_bits
        slope = round(float(module.negative_slope) * 2**weight_bits)
        return torch.where(a >= 0, a, _rescale(a * float(slope), weight_bits))
    if isinstance(module, (nn.Identity, nn.PixelShuffle)):  # a permutation: exact
        return module(a)
    if _is_side_residual(module):
        out = a[:, -module.side_channels :] + exact_forward(module.net, a, act_bits, weight_bits)
        return out.clamp_(-ACT_LIMIT, ACT_LIMIT)
    raise ValueError(f"exact entropy parameters: unsupported layer {type(module).__name__}")


def _is_side_residual(module: nn.Module) -> bool:
    """``side + net(x)`` (``lic_core.builtins.context.SideResidual``, recognised by its parts)."""
    return isinstance(getattr(module, "net", None), nn.Module) and isinstance(getattr(module, "side_channels", None), int)


def check_layers(module: nn.Module, name: str = "net") -> None:
    """Raise ``ValueError`` unless ``module`` has only layers :func:`exact_forward` supports."""
    if _is_side_residual(module):
        return check_layers(module.net, name)
    for m in module.modules() if isinstance(module, nn.Sequential) else [module]:
        if not isinstance(m, SUPPORTED):
            raise ValueError(f"exact entropy parameters: {name} has an unsupported layer {type(m).__name__}")


def check_exact(module: nn.Module, act_bits: int = ACT_BITS, weight_bits: int = WEIGHT_BITS, name: str = "net") -> None:
    """:func:`check_layers`, and every conv's integer sums below ``2**53`` with its current
    weights (checked again at each use: weights may be loaded after the hooks are installed)."""
    check_layers(module, name)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            _integer_params(m, act_bits, weight_bits)


def _hook(act_bits: int, weight_bits: int, module: nn.Module, inputs: tuple, output: Tensor) -> Tensor | None:
    if module.training:
        return None
    a = to_grid(inputs[0], act_bits)
    return (exact_forward(module, a, act_bits, weight_bits) * 2.0**-act_bits).to(output.dtype)


def exact_targets(entropy_model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The nets between decoded values and entropy parameters in a core entropy model: the
    hyper synthesis, the context convs, the channel contexts and the parameter nets."""
    out = []
    for name, m in entropy_model.named_modules():
        last = name.rsplit(".", 1)[-1]
        if name.endswith("hyper.synthesis"):
            out.append((name, m))
        elif last in ("entropy_parameters", "context", "channel_context"):
            items = list(m.named_children()) if isinstance(m, nn.ModuleList) else [("", m)]
            for n, item in items:
                full = f"{name}.{n}" if n else name
                if not isinstance(item, nn.Identity):
                    out.append((full, item))
    return out


def exact_options(value: Any) -> dict[str, int]:
    """The keyword arguments of :func:`make_exact` from a recipe's ``exact`` value: ``true`` or a
    mapping with ``act_bits`` (0-20) and/or ``weight_bits`` (0-30)."""
    if value is True:
        return {}
    if not isinstance(value, dict) or not set(value) <= {"act_bits", "weight_bits"}:
        raise ValueError(f"expected true or a mapping of act_bits and weight_bits, got {value!r}")
    limits = {"act_bits": 20, "weight_bits": 30}
    for key, v in value.items():
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= limits[key]:
            raise ValueError(f"{key} must be an integer from 0 to {limits[key]}, got {v!r}")
    return dict(value)


def make_exact(codec: nn.Module, act_bits: int = ACT_BITS, weight_bits: int = WEIGHT_BITS) -> nn.Module:
    """Make ``codec``'s entropy parameters exact (in place; returns it). Supported: the core
    hyperprior and context entropy models (hyperprior, checkerboard, multistage, ELIC groups)
    whose parameter nets are convs, transposed convs, ReLU/LeakyReLU and pixel shuffles, with a
    quantizer whose ``finalize`` is the identity. Raises ``ValueError`` otherwise."""
    from lic_core.coding.channel_groups import ChannelGroupsCoder
    from lic_core.coding.gaussian import GaussianConditional
    from lic_core.coding.multistage import MultistageCoder
    from lic_core.coding.parts import GaussianLatent, HyperSide
    from lic_core.interfaces import Quantizer

    if getattr(codec, "exact", None):
        raise ValueError("the codec's entropy parameters are already exact")
    em = codec.entropy_model
    coder = getattr(em, "coder", None)
    plain = isinstance(getattr(em, "y", None), GaussianLatent)  # hyperprior: y coded given the side only
    contextual = type(coder) is ChannelGroupsCoder and all(type(c) is MultistageCoder for c in coder.coders)
    core = type(em).__module__.startswith("lic_core.")  # a plugin's model may hold other float nets
    hyper = isinstance(getattr(em, "side", None), HyperSide)
    if not (core and hyper and (plain or type(coder) is MultistageCoder or contextual)):
        raise ValueError(f"exact entropy parameters support the core hyperprior and context models, not {type(em).__name__}")
    if type(codec.quantizer).finalize is not Quantizer.finalize:
        name = type(codec.quantizer).__name__
        raise ValueError(f"exact entropy parameters need a quantizer without a finalize map ({name} has one)")
    for name, net in exact_targets(em):
        check_layers(net, name)
        net.register_forward_hook(functools.partial(_hook, int(act_bits), int(weight_bits)))
    for m in em.modules():
        if isinstance(m, GaussianConditional):
            m.exact_indexes = True
    params: dict[str, Any] = {"act_bits": int(act_bits), "weight_bits": int(weight_bits)}
    codec.exact = params
    codec.recipe = {**codec.recipe, "exact": params}
    if getattr(codec, "model_id", None):  # no longer the shipped model its id names
        codec.model_id = None
    return codec
