"""The composed codec: ``pre-stages -> analysis -> entropy model (quantizer) -> synthesis -> post-stages``."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor, nn

import lic_core._quiet  # noqa: F401
from compressai.models import CompressionModel

from lic_core.checkpoint import TABLE_BUFFERS
from lic_core.coding.tables import update_tables
from lic_core.interfaces import EntropyModel, LossTerm, PrePost, Quantizer, Transform

TRAINING_ONLY_PREFIXES = ("losses.",)


class Codec(CompressionModel):
    """A ``compressai.models.CompressionModel`` assembled from components.

    ``forward(x)`` returns the entropy model's outputs (``likelihoods`` ...) plus ``x_hat``,
    ``y``, ``y_hat`` and ``features`` (``{"pre": [...], "post": [...]}``, one tensor per stage,
    in recipe order) for loss terms. ``stride`` is the multiple an input's height and width
    must have; the image helpers pad to it.
    """

    def __init__(
        self,
        transform: Transform,
        entropy_model: EntropyModel,
        quantizer: Quantizer,
        prepost: Sequence[PrePost] = (),
        losses: Sequence[LossTerm] = (),
        recipe: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.prepost = nn.ModuleList(prepost)
        self.transform = transform
        self.entropy_model = entropy_model
        self.quantizer = quantizer
        entropy_model.attach_quantizer(quantizer)
        self.losses = nn.ModuleList(losses)
        self.recipe: dict[str, Any] = dict(recipe or {})
        in_stride = math.prod(int(s.stride) for s in prepost)
        self.stride = in_stride * int(transform.stride) * int(getattr(entropy_model, "stride", 1))
        # plain lists skip nn.Module.__getattr__ on the hot path
        self._pre = list(prepost)
        self._post = list(reversed(prepost))

    # -- the CompressAI protocol ---------------------------------------------------------
    def forward(self, x: Tensor) -> dict[str, Any]:
        pre = []
        for stage in self._pre:
            x = stage.pre(x)
            pre.append(x)
        y = self.transform.analysis(x)
        out = self.entropy_model(y)
        y_hat = out["y_hat"]  # the coded latents; finalize only what the synthesis sees
        h = self.transform.synthesis(y_hat if self.training else self.quantizer.finalize(y_hat))
        post = []
        for stage in self._post:
            h = stage.post(h)
            post.append(h)
        post.reverse()
        out.update(x_hat=h, y=y, y_hat=y_hat, features={"pre": pre, "post": post})
        return out

    def compress(self, x: Tensor) -> dict[str, Any]:
        for stage in self._pre:
            x = stage.pre(x)
        y = self.transform.analysis(x)
        out = self.entropy_model.compress(y)
        return {"strings": out["strings"], "shape": tuple(out["shape"]), "y_hat": out["y_hat"]}

    def decompress(self, strings: list[list[bytes]], shape: Sequence[int]) -> dict[str, Tensor]:
        y_hat = self.entropy_model.decompress(strings, tuple(shape))["y_hat"]
        x_hat = self.transform.synthesis(self.quantizer.finalize(y_hat))
        for stage in self._post:
            x_hat = stage.post(x_hat)
        return {"x_hat": x_hat.clamp_(0, 1), "y_hat": y_hat}

    def update(self, scale_table=None, force: bool = False, update_quantiles: bool = False) -> bool:
        """Build every CDF table (lic's Gaussian conditionals keep their own fine table)."""
        if update_quantiles:
            for m in self.modules():
                if hasattr(m, "_update_quantiles"):
                    m._update_quantiles()
        return update_tables(self, force=force, scale_table=scale_table)

    # -- lic additions -------------------------------------------------------------------
    def latent_shape(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size of ``y`` for a (padded) input of ``height`` x ``width``."""
        s = self.stride // int(getattr(self.entropy_model, "stride", 1))
        return height // s, width // s

    def coding_state_dict(self) -> dict[str, Tensor]:
        """The state needed to code: everything but training-only modules (loss terms)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith(TRAINING_ONLY_PREFIXES)}

    def load_state_dict(self, state_dict: Mapping[str, Tensor], strict: bool = True):  # type: ignore[override]
        """CompressAI's loader; loss-term weights may be absent. Coder tables take the size
        they have in ``state_dict`` even when this codec's are already filled (CompressAI only
        resizes empty ones, so resuming a run whose tables grew would fail)."""
        state = dict(state_dict)
        own = self.state_dict()
        if not any(k.startswith(TRAINING_ONLY_PREFIXES) for k in state):
            state.update({k: v for k, v in own.items() if k.startswith(TRAINING_ONLY_PREFIXES)})
        for key, value in state.items():
            module_name, _, buffer = key.rpartition(".")
            if buffer in TABLE_BUFFERS and key in own and own[key].shape != value.shape:
                self.get_submodule(module_name).register_buffer(buffer, own[key].new_empty(value.shape))
        return super().load_state_dict(state, strict=strict)

    def save(self, path, **metadata: Any) -> None:
        """Write a coding checkpoint (safetensors) with the recipe and versions in its metadata."""
        from lic_core.checkpoint import save_codec

        save_codec(self, path, **metadata)

    def num_parameters(self, coding_only: bool = True) -> int:
        return sum(
            p.numel()
            for n, p in self.named_parameters()
            if not (coding_only and n.startswith(TRAINING_ONLY_PREFIXES))
        )
