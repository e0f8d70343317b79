"""Check the tensor inputs of a unit or block call: how many, and that none is a literal value."""

from __future__ import annotations

from netspec.build.text import is_literal, literal, source_text, with_first_arg
from netspec.build.values import describe
from netspec.diagnostics.core import Diagnostic, error
from netspec.lang import ast
from netspec.units import REGISTRY, UnitKind


def enough_inputs(
    call: ast.Call,
    n_inputs: int,
    variadic: bool,
    have: int,
    tensor_args: list[ast.Arg],
    diags: list[Diagnostic],
) -> bool:
    """Whether the call gets its tensor inputs: `have` piped in by `->`, then `tensor_args`."""
    kind = REGISTRY.get(call.callee.text)
    count = have + len(tensor_args)
    if not (count >= n_inputs if variadic else count == n_inputs):
        diags.append(_wrong_count(call, kind, n_inputs, variadic, have, tensor_args))
        return False
    problem = _literal_input(call, kind, variadic, have, tensor_args)
    if problem is not None:
        diags.append(problem)
    return problem is None


def _literal_input(
    call: ast.Call, kind: UnitKind | None, variadic: bool, have: int, tensor_args: list[ast.Arg]
) -> Diagnostic | None:
    """The first literal value passed where a tensor goes, reported; None if there is none."""
    position = next((i for i, a in enumerate(tensor_args) if is_literal(a.value)), None)
    if position is None:
        return None
    name = call.callee.text
    arg = tensor_args[position]
    found = describe(literal(arg.value))
    index = have + position
    if not variadic and index > 0:
        inputs = kind.signature.inputs if kind is not None else ()
        what = f"`{inputs[index]}`" if index < len(inputs) else f"input {index + 1}"
        return error(
            "E214",
            f"`{name}` takes a tensor as {what}, but got {found}",
            arg.span,
            "not a tensor",
            help="pass an input or the name of a unit's result",
        )
    if variadic:
        return error(
            "E214",
            f"`{name}` joins tensors, but got {found}",
            arg.span,
            "not a tensor",
            help="pass inputs or the names of units' results, as in `add(x, h)`",
        )
    return error(
        "E407",
        f"`{name}` needs an input tensor first, but got {found}",
        arg.span,
        "expected an input tensor here",
        help=f"chain an input into it, `x -> {source_text(call)}`, or pass it first: "
        f"`{with_first_arg(call, 'x')}`",
    )


def _wrong_count(
    call: ast.Call,
    kind: UnitKind | None,
    n_inputs: int,
    variadic: bool,
    have: int,
    tensor_args: list[ast.Arg],
) -> Diagnostic:
    name = call.callee.text
    count = have + len(tensor_args)
    want = f"at least {n_inputs}" if variadic else str(n_inputs)
    plural = "s" if n_inputs != 1 else ""
    named = ""
    if kind is not None and not variadic:
        named = " (" + ", ".join(f"`{i}`" for i in kind.signature.inputs) + ")"
    if variadic:
        help = f"give it the branches to join, as in `{name}(x, h)`"
    elif count < n_inputs and kind is not None and not have:
        names = [source_text(a.value) for a in tensor_args]
        names += list(kind.signature.inputs[len(names) :])
        help = f"pass its inputs first: `{name}({', '.join(names)})`"
    elif count < n_inputs:
        help = f"chain an input into it (`x -> {name}(...)`) or pass the inputs first"
    elif have:
        help = "the left side of `->` is already the first input; pass only the others"
    else:
        help = None
    return error(
        "E407",
        f"`{name}` takes {want} input{plural}{named}, but got {count}",
        call.span,
        f"{count} input{'s' * (count != 1)}",
        help=help,
    )
