"""What a run leaves to look at: curve and confusion plots (`plots`), pictures of learned
units (`unit_plots`), samples from RBM stacks (`sample`) and runs side by side (`compare`, which
reads only run folders and needs no torch). Torch-side."""
