"""netspec: a declarative model-spec compiler and trainer for neural networks."""

__version__ = "0.1.0"
