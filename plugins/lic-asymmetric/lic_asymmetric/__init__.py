"""lic plugin ``asymmetric``: DKIC's asymmetric spatial-channel entropy model.

Light on purpose: importing this package imports neither torch nor the model code.
"""

__version__ = "0.1.0"
