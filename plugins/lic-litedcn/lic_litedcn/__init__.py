"""lic plugin ``litedcn``: Lite-DCN dynamic residual block groups, the dynamic hyperprior and a
Lite-DCN backbone (DKIC, Wang et al. 2023).

Light on purpose: importing this package imports neither torch nor the model code.
"""

__version__ = "0.1.0"
