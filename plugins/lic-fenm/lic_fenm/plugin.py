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
    "prepost": [{"id": "fexm.stage", "channels": 4}, {"id": "fenm.stage", "layers": 2, "growth": 8, "width": 20}],
}
_FEXM_LAYOUT = {"producer": "fexm.stage", "groups": 5, "group_channels": 4, "patch": 2}


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "fenm.stage", "prepost", "lic_fenm.stage:FEnMStage",
            "two residual dense blocks and a conv enhancing FExM's decoded feature (needs fexm.stage before it)", PAPER,
            {"blocks": 2, "layers": 3, "growth": 16, "width": 40},
            {"in_channels": 20, "layout": _FEXM_LAYOUT, "layers": 2, "growth": 8, "width": 12},
        ),
        ComponentSpec(
            "fenm.loss", "loss", "lic_fenm.loss:FeatureEnhancementLoss",
            "||F_enhanced - F_refined||^2, weight 1 for the first third of training", PAPER,
            {"weight": 1.0, "start": 0.0, "until": 1 / 3, "detach_target": False}, {"recipe": _SMALL_RECIPE},
        ),
    ]  # fmt: skip
