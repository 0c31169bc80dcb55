"""lic-sth: soft-then-hard quantization (Guo et al., ICML 2021) as a lic quantizer.

A third-party plugin example. Light: lic imports the entry-point module ``lic_sth.plugin`` at
discovery and ``lic_sth.quantizer`` (torch) only when the component is built.
"""

__version__ = "0.1.0"
