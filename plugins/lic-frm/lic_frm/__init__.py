"""lic plugin ``frm``: the feature refinement module of Jiang et al."""
