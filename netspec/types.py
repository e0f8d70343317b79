"""Tensor types without the batch dimension: sizes (int or symbolic, like `T`) and element type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from math import prod

Dim = int | str  # a str is a symbolic size such as "T", or an expression of one

# The class id of a step with no label, in a sequence target class(K)[T]: the padding after a
# sentence shorter than T. Loading accepts it there, and losses and accuracies leave such steps
# out (torch's ignore_index).
NO_LABEL = -1


@dataclass(frozen=True)
class TensorType:
    """The shape and element type of one sample.

    >>> str(TensorType((1, 8, 8)))
    '[1, 8, 8]'
    >>> str(TensorType(()))
    'real'
    >>> str(TensorType((), "class", 10))
    'class(10)'
    >>> str(TensorType(("T",), "class", 1000))
    'class(1000)[T]'
    """

    dims: tuple[Dim, ...]
    dtype: str = "real"  # real | class | binary
    classes: int | None = None  # the N of class(N)

    def __str__(self) -> str:
        shape = "[" + ", ".join(str(d) for d in self.dims) + "]"
        if self.dtype == "real":
            return shape if self.dims else "real"
        head = f"class({self.classes})" if self.dtype == "class" else self.dtype
        return head + (shape if self.dims else "")

    @property
    def rank(self) -> int:
        return len(self.dims)

    @property
    def is_real(self) -> bool:
        return self.dtype == "real"

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.dims)

    def numel(self) -> Dim:
        """Elements per sample, or a symbolic product when a size is symbolic."""
        if self.is_static:
            return prod(int(d) for d in self.dims)
        return "*".join(str(d) for d in self.dims)

    def with_dims(self, dims: tuple[Dim, ...]) -> TensorType:
        return TensorType(dims, "real")


def real(*dims: Dim) -> TensorType:
    return TensorType(tuple(dims))


def window_out(size: Dim, kernel: int, stride: int, pad: int, dilation: int = 1) -> Dim:
    """Output length of a convolution or pooling window (torch's arithmetic).

    >>> window_out(8, 3, 1, 1)
    8
    >>> window_out("T", 3, 1, 0)
    'T-2'
    >>> window_out("T-2", 2, 2, 0)
    '(T-4)//2+1'
    """
    offset = 2 * pad - (dilation * (kernel - 1) + 1)  # numerator is size + offset
    if isinstance(size, int):
        return (size + offset) // stride + 1
    if stride == 1:
        return add_dim(size, offset + 1)
    return f"({add_dim(size, offset)})//{stride}+1"


_AFFINE = re.compile(r"^([A-Za-z_]\w*)([+-]\d+)?$")


def add_dim(size: Dim, offset: int) -> Dim:
    """`size + offset`, kept readable for symbolic sizes (`T-2` + 1 is `T-1`)."""
    if isinstance(size, int):
        return size + offset
    match = _AFFINE.match(size)
    if match:
        total = int(match.group(2) or 0) + offset
        return match.group(1) if total == 0 else f"{match.group(1)}{total:+d}"
    return size if offset == 0 else f"({size}){offset:+d}"


def same_dim(a: Dim, b: Dim) -> bool:
    return a == b
