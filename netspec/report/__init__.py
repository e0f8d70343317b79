"""What a run leaves to look at: curve and confusion plots (`plots`), pictures of learned
units (`unit_plots`) and samples from RBM stacks (`sample`). Torch-side."""
