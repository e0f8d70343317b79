"""Torch modules and lowering builders, one module per unit family (mirroring netspec/units).

Only lowering and training import this package; checking and drawing never do.
"""
