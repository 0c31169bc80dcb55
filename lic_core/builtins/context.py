"""Entropy models with spatial (and channel) context on top of a hyperprior:

- :class:`SpatialContextEntropyModel` (``core.multistage``): hyperprior + a ``k``-stage spatial
  context over the 2x2 sub-lattices in any ``order``;
- :class:`CheckerboardEntropyModel` (``core.checkerboard``): He et al. 2021, two stages;
- :class:`ElicEntropyModel` (``core.elic-groups``): He et al. 2022, uneven channel groups each
  coded with a checkerboard (or any stage order), ELIC's parameter aggregation; the structure of
  CompressAI's ``Elic2022Official`` latent codec.

All build on :class:`HyperContextEntropyModel`: a :class:`~lic_core.coding.parts.HyperSide`
whose features feed a context coder (:mod:`lic_core.coding.multistage`,
:mod:`lic_core.coding.channel_groups`). Streams: the coder's streams in order, then ``z``'s.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import lic_core._quiet  # noqa: F401  (before compressai)
from compressai.layers import sequential_channel_ramp
from compressai.models.utils import conv
from torch import Tensor, nn

from lic_core.coding.channel_groups import ChannelGroupsCoder
from lic_core.coding.multistage import MultistageCoder, parse_stages
from lic_core.coding.one_thread import on_one_thread, on_one_thread_in_eval
from lic_core.coding.parts import GaussianLatent, HyperSide
from lic_core.coding.slices import CoderSliceModel, SliceModel, check_support, previous_support
from lic_core.interfaces import EntropyModel
from lic_core.layers.masked import stage_context_convs

HyperFactory = Callable[..., Any]


class HyperContextEntropyModel(EntropyModel):
    """``y`` coded by ``coder`` (the context-coder protocol of :mod:`lic_core.coding.channel_groups`)
    given the features of the hyperprior ``side``. Plugins' context models subclass it too; one
    whose coder needs its own attributes first passes no ``coder`` and assigns ``self.coder``.
    ``forward`` returns the hyperprior features as ``"side"`` (what the coder is given), as the
    slice protocol (:class:`~lic_core.coding.slices.SlicedEntropyModel`) asks."""

    def __init__(self, M: int, side: HyperSide, coder: nn.Module | None = None) -> None:
        super().__init__()
        self.latent_channels = int(M)
        self.side = side
        if coder is not None:
            self.coder = coder
        self.stride = side.stride

    @on_one_thread_in_eval  # eval: the latents compress gives (lic_core.coding.one_thread)
    def forward(self, y: Tensor) -> dict[str, Any]:
        params, z_lik = self.side(y, self.quantizer)
        y_hat, y_lik = self.coder(y, params, self.quantizer)
        return {"y_hat": y_hat, "likelihoods": {"y": y_lik, "z": z_lik}, "side": params}

    @on_one_thread  # the same entropy parameters at any thread count (lic_core.coding.one_thread)
    def compress(self, y: Tensor) -> dict[str, Any]:
        params, z_strings = self.side.compress(y, self.quantizer)
        strings, y_hat = self.coder.compress(y, params)
        return {"strings": [*strings, z_strings], "shape": tuple(y.shape[-2:]), "y_hat": y_hat}

    @on_one_thread
    def decompress(self, strings: Sequence[Sequence[bytes]], shape: Sequence[int]) -> dict[str, Any]:
        expected = int(getattr(self.coder, "num_streams", 1)) + 1
        if len(strings) != expected:
            raise ValueError(f"expected {expected} streams, got {len(strings)}")
        shape = (int(shape[0]), int(shape[1]))
        params = self.side.decompress(list(strings[-1]), shape, self.quantizer)
        return {"y_hat": self.coder.decompress(list(strings[:-1]), params, shape)}


def _hyper_side(M: int, N: int, hyper: HyperFactory | None, default: HyperFactory) -> HyperSide:
    return HyperSide(default(in_channels=M, N=N) if hyper is None else hyper(in_channels=M))


def _ramp(cin: int, cout: int, min_ch: int, act: type[nn.Module]) -> nn.Module:
    """Three 1x1 convs with linearly ramping widths (CompressAI's ``sequential_channel_ramp``)."""
    return sequential_channel_ramp(
        cin, cout, min_ch=min_ch, num_layers=3, interp="linear",
        make_layer=nn.Conv2d, make_act=lambda: act(inplace=True), kernel_size=1, stride=1, padding=0,
    )  # fmt: skip


class SideResidual(nn.Module):
    """Entropy parameters that refine the side's own ``(scales, means)``: ``side + net([ctx, side])``.

    ``net``'s last conv starts at zero, so with a mean-scale hyperprior's weights the context
    model starts at exactly that hyperprior's rates and training can only add what the context
    brings (a warm start from a trained hyperprior). Pointwise when ``net`` is."""

    def __init__(self, net: nn.Module, side_channels: int) -> None:
        super().__init__()
        self.net, self.side_channels = net, int(side_channels)
        last = [m for m in net.modules() if isinstance(m, nn.Conv2d)][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, x: Tensor) -> Tensor:
        return x[:, -self.side_channels :] + self.net(x)


class SpatialContextEntropyModel(HyperContextEntropyModel):
    """Hyperprior + a ``k``-stage spatial context model over the 2x2 sub-lattices.

    ``order``: a stage order name (``checkerboard``, ``checkerboard-odd``, ``four-stage``) or
    nested lists of positions. Stage ``i >= 1`` has a masked conv (``kernel_size``, one value or
    one per stage) from ``M`` to ``2M`` channels; ``combine`` (``replace``/``sum``/``concat``)
    says how they form the context. The entropy parameters are three 1x1 convs with LeakyReLU
    ramping linearly from ``context + side`` to ``2M`` channels (Minnen et al.'s for two stages).
    ``hyper`` builds the hyper transform (``hyper(in_channels=M)``; default Minnen's mean-scale
    transform with ``N`` channels). ``residual=True`` adds the ramp's output to the side's own
    ``2M`` (scales, means) (:class:`SideResidual`): a warm start from a mean-scale hyperprior.
    """

    def __init__(
        self,
        M: int,
        N: int = 192,
        order: str | Sequence[Sequence[Sequence[int]]] = "four-stage",
        hyper: HyperFactory | None = None,
        kernel_size: int | Sequence[int] = 5,
        combine: str = "replace",
        levels: int = 256,
        residual: bool = False,
    ) -> None:
        from lic_core.builtins.gdn import MeanScaleHyperTransform

        side = _hyper_side(M, N, hyper, MeanScaleHyperTransform)
        stages = parse_stages(order)
        context = stage_context_convs(stages, M, 2 * M, kernel_size) if len(stages) > 1 else []
        k = len(context)
        ctx_width = 2 * M * (k if combine == "concat" else min(k, 1))
        width = int(side.hyper.out_channels)
        params = _ramp(ctx_width + width, 2 * M, 0, nn.LeakyReLU)
        if residual:
            if width != 2 * M:
                raise ValueError(f"residual=True needs side features of 2M={2 * M} channels, the hyper gives {width}")
            params = SideResidual(params, width)
        coder = MultistageCoder(stages, context, params, M, combine=combine, levels=levels, pointwise=True)
        super().__init__(M, side, coder)


class CheckerboardEntropyModel(SpatialContextEntropyModel):
    """He et al. 2021: hyperprior + two-pass checkerboard context (anchors first, ``parity``
    ``"even"`` puts them at (0,0) and (1,1) as CompressAI does); a 5x5 masked context conv.
    ``residual``: see :class:`SpatialContextEntropyModel`."""

    def __init__(
        self,
        M: int,
        N: int = 192,
        hyper: HyperFactory | None = None,
        parity: str = "even",
        kernel_size: int = 5,
        levels: int = 256,
        residual: bool = False,
    ) -> None:
        if parity not in ("even", "odd"):
            raise ValueError(f"parity must be 'even' or 'odd', got {parity!r}")
        order = "checkerboard" if parity == "even" else "checkerboard-odd"
        super().__init__(M, N, order, hyper, kernel_size, "replace", levels, residual)


def default_groups(M: int) -> list[int]:
    """ELIC's uneven groups ``[16, 16, 32, 64, M - 128]``."""
    if M <= 128:
        raise ValueError(f"ELIC's default groups need M > 128, got M={M}; pass groups explicitly")
    return [16, 16, 32, 64, M - 128]


class ElicEntropyModel(HyperContextEntropyModel):
    """ELIC (He et al. 2022): uneven channel groups coded in turn, each with a spatial context
    (``orders``: one stage order for all groups or one per group; ELIC: checkerboard), channel
    context from all earlier groups (conv5x5 ``context_widths`` with ReLU), and "parameter
    aggregation" (three 1x1 convs ramping from ``spatial + channel + side`` to ``2 g``).

    The default hyper transform is ELIC's (``N`` channels, ``2N`` side features). With the
    defaults the parameters match CompressAI's ``Elic2022Official`` one for one.

    A :class:`~lic_core.coding.slices.SlicedEntropyModel` (the groups are its slices):
    :meth:`slice_model` builds a fresh coder of the same structure whose groups see ``support``.
    """

    def __init__(
        self,
        M: int,
        N: int = 192,
        groups: Sequence[int] | None = None,
        hyper: HyperFactory | None = None,
        orders: str | Sequence[Any] = "checkerboard",
        kernel_size: int = 5,
        context_widths: Sequence[int] = (224, 128),
        combine: str = "replace",
        levels: int = 256,
    ) -> None:
        from lic_core.builtins.elic import ElicHyperTransform

        groups = default_groups(M) if groups is None else [int(g) for g in groups]
        if sum(groups) != M:
            raise ValueError(f"groups {groups} sum to {sum(groups)}, not M={M}")
        per_group = [orders] * len(groups) if isinstance(orders, str) else list(orders)
        if len(per_group) != len(groups):
            raise ValueError(f"orders gives {len(per_group)} stage orders for {len(groups)} groups")
        super().__init__(M, _hyper_side(M, N, hyper, ElicHyperTransform))
        self.groups = groups
        self._layout = {"orders": per_group, "kernel_size": kernel_size, "context_widths": tuple(context_widths),
                        "combine": combine, "levels": levels}  # fmt: skip
        self.coder = self._coder(previous_support(len(groups)))

    def slice_model(self, support: Sequence[Sequence[int]]) -> SliceModel:
        """A fresh coder (own weights) in which group ``i`` sees the groups ``support[i]``."""
        return CoderSliceModel(self._coder(check_support(support, len(self.groups))))

    def _coder(self, support: Sequence[Sequence[int]]) -> ChannelGroupsCoder:
        groups, layout = self.groups, self._layout
        width = int(self.side.hyper.out_channels)
        latent = GaussianLatent(layout["levels"])
        channel_context: list[nn.Module | None] = []
        coders = []
        for k, (g, seen) in enumerate(zip(groups, support)):
            prev = sum(groups[j] for j in seen)
            channel_context.append(_channel_context(prev, 2 * g, layout["context_widths"]) if seen else None)
            stages = parse_stages(layout["orders"][k])
            spatial = stage_context_convs(stages, g, 2 * g, layout["kernel_size"]) if len(stages) > 1 else []
            n_ctx = len(spatial) if layout["combine"] == "concat" else min(len(spatial), 1)
            aggregation = _ramp(2 * g * n_ctx + bool(seen) * 2 * g + width, 2 * g, width, nn.ReLU)
            coders.append(
                MultistageCoder(
                    stages, spatial, aggregation, g, combine=layout["combine"], latent=latent, pointwise=True
                )
            )
        return ChannelGroupsCoder(groups, channel_context, coders, support=support, latent=latent)


def _channel_context(cin: int, cout: int, widths: Sequence[int]) -> nn.Module:
    layers: list[nn.Module] = []
    for w in widths:
        layers += [conv(cin, w, kernel_size=5, stride=1), nn.ReLU(inplace=True)]
        cin = w
    return nn.Sequential(*layers, conv(cin, cout, kernel_size=5, stride=1))
