"""Entry-point module of plugin ``fexm`` (light: no torch)."""

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec, RecipeSpec

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
            "pixel-unshuffled sub-image features plus a stride-b image feature; replaces the backbone's first "
            "downsampling layer", PAPER,
            {"patch": 2, "channels": 32, "layers": 2, "shared": False}, {"channels": 8},
        )
    ]  # fmt: skip


def _jiang(base: str, small: bool) -> dict:
    """The paper's pipeline on a backbone recipe: FExM -> FRM -> backbone -> FEnM, QECM, FEnM loss."""
    stages = (
        [{"id": "fexm.stage", "patch": 2, "channels": 8}, {"id": "frm.stage", "variant": "tiny", "channels": 8},
         {"id": "fenm.stage", "blocks": 1, "layers": 3, "growth": 16, "width": 40}]
        if small
        else [{"id": "fexm.stage", "patch": 2}, {"id": "frm.stage"}, {"id": "fenm.stage"}]
    )  # fmt: skip
    return {
        "base": base,
        "prepost": stages,
        "quantizer": {"id": "qecm.quantizer", "harmonics": 5},
        "losses": [{"id": "fenm.loss", "weight": 1.0, "until": 1 / 3}],
    }


@hookimpl
def lic_recipes() -> list[RecipeSpec]:
    note = "needs lic-fexm, lic-frm, lic-fenm, lic-qecm and the backbone plugin"
    return [
        RecipeSpec(
            "jiang-tinylic", _jiang("tinylic", False),
            f"FExM+FRM+FEnM+QECM on Tiny-LIC (the paper's Table IV pipeline, without ICRSA units; {note})", PAPER,
        ),
        RecipeSpec("jiang-stf", _jiang("stf", False), f"FExM+FRM+FEnM+QECM on STF ({note})", PAPER),
        RecipeSpec(
            "jiang-tinylic-small", _jiang("tinylic-small", True),
            f"the paper's pipeline with small modules (FRM tiny) on tinylic-small (2 CPU cores; {note})", PAPER,
        ),
        RecipeSpec(
            "jiang-stf-small", _jiang("stf-small", True),
            f"the paper's pipeline with small modules (FRM tiny) on stf-small (2 CPU cores; {note})", PAPER,
        ),
    ]  # fmt: skip
