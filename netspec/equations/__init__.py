"""Equations as data: each unit kind's forward and backward equations as expression trees
(expr), the chain rule through a network (chain), and their NumPy reference evaluation
(reference) that the tests compare with the lowered torch modules."""
