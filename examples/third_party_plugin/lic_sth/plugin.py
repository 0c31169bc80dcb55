"""Entry-point module of plugin ``sth`` (light: imports no torch, no model code)."""

from __future__ import annotations

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec, RecipeSpec

requires_core = ">=0.1,<0.2"

#: the method's reference (registry.yaml reads this module attribute)
paper = (
    "Guo, Zhang, Feng & Chen, Soft then Hard: Rethinking the Quantization in Neural Image "
    "Compression, ICML 2021 (arXiv:2104.05168)"
)


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            id="sth.quantizer",
            kind="quantizer",
            factory="lic_sth.quantizer:SoftThenHardQuantizer",
            summary="soft-then-hard: noise to learn the latent space, then hard rounding with a fixed encoder",
            paper=paper,
            params={"stage": "soft", "soft": "noise", "freeze_encoder": True},
            example={},
        ),
    ]


@hookimpl
def lic_recipes() -> list[RecipeSpec]:
    return [
        RecipeSpec(
            "sth.mbt2018-mean",
            {
                "transform": {"id": "core.gdn", "N": 128, "M": 192},
                "entropy_model": {"id": "core.hyperprior", "N": 128, "mode": "mean-scale"},
                "quantizer": {"id": "sth.quantizer", "stage": "soft"},
            },
            "mbt2018-mean (core GDN + mean-scale hyperprior) trained soft-then-hard; "
            "set the quantizer's stage to 'hard' (or call quantizer.harden()) for the second stage",
            paper,
        ),
    ]
