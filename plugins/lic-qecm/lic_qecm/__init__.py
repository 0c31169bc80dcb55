"""lic plugin ``qecm``: the quantization error compensation module of Jiang et al."""
