"""lic plugin ``uneven``: a channel-wise autoregressive entropy model with uneven slices.

Light on purpose: importing this package imports neither torch nor the model code.
"""

__version__ = "0.1.0"
