"""What a person reads without training: `explain` pages, `draw` (the units view and the
neuron view, as DOT) and rendering DOT to SVG/PNG. Torch-free."""
