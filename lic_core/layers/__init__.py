"""Reusable building blocks shared by several plugins (timm's ``layers`` in spirit)."""
