"""Evaluation: real coding through the ``.lic`` container, Pillow anchors, CompressAI result
files, RD plots, Bjontegaard deltas and speed benchmarks. Importing this package is light."""
