"""lic plugin ``fexm``: the feature extraction module of Jiang et al."""
