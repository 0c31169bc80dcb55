"""lic plugin ``cca``: the Causal Context Adjustment loss, the paper's NAF CNN backbone and
its recipes.

Light on purpose: importing this package imports neither torch nor the model code.
"""

__version__ = "0.1.0"
