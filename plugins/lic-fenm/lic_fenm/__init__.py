"""lic plugin ``fenm``: the feature enhancement module of Jiang et al. and its loss."""
