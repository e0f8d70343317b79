"""Unsupervised training rules for units that have one: RBMs (CD-k, PCD-k), autoencoders
(reconstruction) and sparse coding (dictionary learning). Torch only; used by the trainer."""
