"""Training of any composed codec: data, schedule, resumable state, (distributed) trainer.

Importing this package is light; ``lic_core.training.trainer`` imports torch.
"""
