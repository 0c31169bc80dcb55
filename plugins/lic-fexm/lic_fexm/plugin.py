"""Entry-point module of plugin ``fexm`` (light: no torch)."""

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec

requires_core = ">=0.1,<0.2"
PAPER = (
    "Jiang et al., Learned image compression with feature extraction, refinement, enhancement "
    "and quantization error compensation (FExM)"
)


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "fexm.stage", "prepost", "lic_fexm.stage:FExMStage",
            "pixel-unshuffled sub-image features plus a stride-b image feature; replaces the backbone stem", PAPER,
            {"patch": 2, "channels": 32, "layers": 2, "shared": False}, {"channels": 8},
        )
    ]  # fmt: skip
