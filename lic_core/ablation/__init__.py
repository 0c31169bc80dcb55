"""``lic ablate``: equal-budget A/B comparisons of components on a trained codec ladder.

:mod:`~lic_core.ablation.spec` reads the specification, :mod:`~lic_core.ablation.runner` plans
and runs one job per (variant, rate point), :mod:`~lic_core.ablation.job` is one job's process,
:mod:`~lic_core.ablation.report` turns the results into BD-rates, curves and a plot.
"""
