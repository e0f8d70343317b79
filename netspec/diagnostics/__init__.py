"""Diagnostics as data (`core`), rendered in one place (`render`), with stable codes and their
explanations (`codes`). Torch-free."""
