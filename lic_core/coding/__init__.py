"""Entropy-coding parts: CompressAI's rANS coder with resident tables, the Gaussian
conditional with a fine scale table, the factorized prior, and reusable latent-codec parts
(multi-stage spatial context, channel groups) that plugins assemble."""
