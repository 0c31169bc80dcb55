"""Soft-then-hard quantization (Guo et al., ICML 2021).

Training with additive uniform noise (AUN) learns an expressive latent space but leaves a
train-test mismatch: the decoder never sees the rounded latents it gets at test time.
Straight-through rounding removes the mismatch but, as the paper shows, weakens the latent
space. Soft-then-hard does both in turn: a *soft* stage trains everything with AUN, then a
*hard* stage quantizes exactly as at test time, ``round(y - mu) + mu``, with the encoder
fixed, so the decoder and the entropy model adapt to the real quantized latents.
"""

from __future__ import annotations

from torch import Tensor

from lic_core.builtins.quantizers import ste_round_around, uniform_noise
from lic_core.interfaces import Quantizer

STAGES = ("soft", "hard")
SOFT_MODES = ("noise", "mixed")


class SoftThenHardQuantizer(Quantizer):
    """Soft stage (training): ``soft="noise"`` is AUN for the rate and the reconstruction (the
    paper); ``soft="mixed"`` keeps AUN for the rate and uses straight-through rounding for the
    reconstruction.

    Hard stage (training): the rate and the reconstruction both see ``round(x - means) + means``,
    exactly what eval mode and the entropy coder use. With ``freeze_encoder`` (the paper) the
    input is detached, so no gradient reaches anything before the quantizer: the analysis
    transform and the hyper analysis stay fixed while synthesis, hyper synthesis and the
    entropy parameters train. Without it the rounding is straight-through (the encoder trains).

    ``stage`` is configuration, not state: a recipe says which stage it trains, and
    :meth:`harden` switches a live codec to the hard stage. Eval mode is the same in both stages.
    """

    def __init__(self, stage: str = "soft", soft: str = "noise", freeze_encoder: bool = True) -> None:
        super().__init__()
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
        if soft not in SOFT_MODES:
            raise ValueError(f"soft must be one of {', '.join(SOFT_MODES)}, got {soft!r}")
        self.stage, self.soft, self.freeze_encoder = stage, soft, bool(freeze_encoder)

    def harden(self) -> "SoftThenHardQuantizer":
        """Switch to the hard stage (the second stage of training)."""
        self.stage = "hard"
        return self

    def train_quantize(self, x: Tensor, means: Tensor | None, latent: str) -> tuple[Tensor, Tensor]:
        if self.stage == "hard":
            q = self.round(x.detach(), means) if self.freeze_encoder else ste_round_around(x, means)
            return q, q
        noisy = uniform_noise(x)
        if self.soft == "noise":
            return noisy, noisy
        return noisy, ste_round_around(x, means)

    def extra_repr(self) -> str:
        return f"stage={self.stage!r}, soft={self.soft!r}, freeze_encoder={self.freeze_encoder}"
