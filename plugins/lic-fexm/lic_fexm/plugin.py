"""Entry-point module of plugin ``fexm`` (light: no torch)."""

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec, ModelSpec, RecipeSpec

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


def _jiang(base: str, small: bool) -> dict:
    """The paper's pipeline on a backbone recipe: FExM -> FRM -> backbone -> FEnM, QECM, FEnM loss."""
    stages = (
        [{"id": "fexm.stage", "patch": 2, "channels": 8}, {"id": "frm.stage", "variant": "tiny"},
         {"id": "fenm.stage", "blocks": 1, "layers": 3, "growth": 16}]
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
        RecipeSpec("jiang-tinylic", _jiang("tinylic", False), f"FExM+FRM+FEnM+QECM on Tiny-LIC (the paper's model; {note})", PAPER),
        RecipeSpec("jiang-stf", _jiang("stf", False), f"FExM+FRM+FEnM+QECM on STF ({note})", PAPER),
        RecipeSpec(
            "jiang-tinylic-small", _jiang("tinylic-small", True),
            f"the paper's pipeline, Proposed-Tiny modules, on tinylic-small (2 CPU cores; {note})", PAPER,
        ),
        RecipeSpec(
            "jiang-stf-small", _jiang("stf-small", True),
            f"the paper's pipeline, Proposed-Tiny modules, on stf-small (2 CPU cores; {note})", PAPER,
        ),
    ]  # fmt: skip


@hookimpl
def lic_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            "fexm.jiang-tinylic-small", "lic_fexm:weights/jiang-tinylic-small-mse-0.0067.safetensors",
            "jiang-tinylic-small", lmbda=0.0067,
            summary="hybrid FExM+FRM+FEnM+QECM on tinylic-small, briefly trained on CPU (docs/zoo.md)",
        )
    ]  # fmt: skip
