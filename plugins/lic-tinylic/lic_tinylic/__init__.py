"""lic plugin ``tinylic``: Tiny-LIC (Lu et al.) transforms, blocks and multistage context model.

Light on purpose: the entry module :mod:`lic_tinylic.plugin` imports no torch.
"""

__version__ = "0.1.0"
