"""lic plugin ``stf``: STF (Zou et al.) Swin transforms and channel-wise autoregressive entropy model.

Light on purpose: the entry module :mod:`lic_stf.plugin` imports no torch.
"""

__version__ = "0.1.0"
