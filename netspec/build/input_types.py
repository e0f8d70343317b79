"""The tensor type an `input` declares: a shape, `class(N)`, `binary` or `real`."""

from __future__ import annotations

from netspec.build.text import split_args
from netspec.build.values import Env, Symbol, bind, describe, evaluate
from netspec.diagnostics.core import Diagnostic, did_you_mean, error
from netspec.lang import ast
from netspec.types import Dim, TensorType
from netspec.units import ParamSpec

LABEL_TYPES = ("real", "class", "binary")
_CLASS_PARAMS = (ParamSpec("n", "int", "number of classes"),)


def input_type(t: ast.InputType, env: Env, diags: list[Diagnostic]) -> TensorType | None:
    """The declared type, or None after reporting why it is not one."""
    kind = t.kind.text
    if kind not in LABEL_TYPES:
        diags.append(
            error(
                "E215",
                f"unknown input type `{kind}`",
                t.kind.span,
                "unknown type",
                help=did_you_mean(kind, LABEL_TYPES)
                or "types are a shape like [64], class(N), binary and real",
            )
        )
        return None
    dims = _dims(t.shape, env, diags)
    if dims is None:
        return None
    if kind == "real" and t.shape is None and not t.args:
        return TensorType(())
    classes = None
    if kind == "class":
        classes = _classes(t, env, diags)
        if classes is None:
            return None
    elif t.args:
        diags.append(
            error("E405", f"`{kind}` takes no arguments", t.args[0].span, "unexpected argument")
        )
        return None
    return TensorType(tuple(dims), kind, classes)


def _dims(shape: ast.ListExpr | None, env: Env, diags: list[Diagnostic]) -> list[Dim] | None:
    dims: list[Dim] = []
    for item in shape.items if shape else ():
        value = evaluate(item, env, diags)
        if isinstance(value, Symbol):
            dims.append(str(value))  # a symbolic size such as T
        elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
            dims.append(value)
        else:
            diags.append(
                error(
                    "E404",
                    f"a size must be a positive integer or a name, not {describe(value)}",
                    item.span,
                    "not a size",
                )
            )
            return None
    return dims


def _classes(t: ast.InputType, env: Env, diags: list[Diagnostic]) -> int | None:
    positional, keyword = split_args(t.args)
    bound = bind("class", _CLASS_PARAMS, positional, keyword, env, diags, t.span)
    if bound is None:
        return None
    classes: int = bound["n"]
    if classes < 2:
        diags.append(
            error(
                "E215",
                f"`class` needs at least 2 classes, got {classes}",
                t.args[0].span,
                "too few classes",
                help="a single yes/no label is `binary`; class labels need `class(2)` or more",
            )
        )
        return None
    return classes
