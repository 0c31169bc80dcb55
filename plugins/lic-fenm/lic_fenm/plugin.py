"""Entry-point module of plugin ``fenm`` (light: no torch)."""

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec

requires_core = ">=0.1,<0.2"
PAPER = (
    "Jiang et al., Learned image compression with feature extraction, refinement, enhancement "
    "and quantization error compensation (FEnM)"
)
_SMALL_RECIPE = {
    "transform": {"id": "core.gdn", "N": 16, "M": 24},
    "entropy_model": {"id": "core.hyperprior", "N": 16},
    "prepost": [{"id": "fenm.stage", "layers": 2, "growth": 8}],
}


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "fenm.stage", "prepost", "lic_fenm.stage:FEnMStage",
            "two residual dense blocks and a conv enhancing the decoded feature", PAPER,
            {"blocks": 2, "layers": 4, "growth": 32}, {"in_channels": 16, "layers": 2, "growth": 8},
        ),
        ComponentSpec(
            "fenm.loss", "loss", "lic_fenm.loss:FeatureEnhancementLoss",
            "||F_enhanced - F_refined||^2, weight 1 for the first third of training", PAPER,
            {"weight": 1.0, "start": 0.0, "until": 1 / 3, "detach_target": False}, {"recipe": _SMALL_RECIPE},
        ),
    ]  # fmt: skip
