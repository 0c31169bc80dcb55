"""Entry-point module of plugin ``frm`` (light: no torch)."""

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec

requires_core = ">=0.1,<0.2"
PAPER = (
    "Jiang et al., Learned image compression with feature extraction, refinement, enhancement "
    "and quantization error compensation (FRM)"
)
_FEXM_LAYOUT = {"producer": "fexm.stage", "groups": 5, "group_channels": 8, "patch": 2}


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "frm.stage", "prepost", "lic_frm.stage:FRMStage",
            "3-D convolution attention refinement of FExM's stacked features (needs fexm.stage before it)", PAPER,
            {"variant": "full", "channels": 24, "blocks": 3, "levels": 2, "reduction": 4},
            {"in_channels": 40, "layout": _FEXM_LAYOUT, "blocks": 1},
        )
    ]  # fmt: skip
