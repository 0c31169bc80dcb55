"""Entry-point module of plugin ``qecm`` (light: no torch)."""

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec

requires_core = ">=0.1,<0.2"
PAPER = (
    "Jiang et al., Learned image compression with feature extraction, refinement, enhancement "
    "and quantization error compensation (QECM)"
)


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "qecm.quantizer",
            "quantizer",
            "lic_qecm.quantizer:QECMQuantizer",
            "K-harmonic Fourier rounding in training; rounding + clipped Laplace noise seeded from the stream at test time",
            PAPER,
            {"harmonics": 5, "noise_scale": None, "noise_mean": 0.0, "compensate_z": True, "rate": "fourier"},
        )
    ]
