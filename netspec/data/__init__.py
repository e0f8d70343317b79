"""Load a plan's data source into arrays for the network's inputs: built-in sets, generated
sets (`synthetic`) and user files (`loading.load`). Torch-side of the boundary."""
