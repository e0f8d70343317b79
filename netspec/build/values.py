"""Evaluate value expressions (numbers, strings, lists, `let` names, symbols) and bind them to
a signature's parameters, reporting E4xx diagnostics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netspec.diagnostics.core import Diagnostic, did_you_mean, error
from netspec.lang import ast
from netspec.lang.printer import format_expr
from netspec.lang.source import Span
from netspec.units.base import AUTO, ParamSpec


class Symbol(str):
    """A bare identifier used as a value (`relu`, `true`, `last`), as opposed to a string."""


@dataclass(frozen=True)
class CallValue:
    """A call in value position, such as `sgd(lr=0.1)` in a `train` section."""

    name: str
    args: tuple[tuple[str | None, Any], ...]
    span: Span


class Env:
    """`let` values visible in a scope, innermost first."""

    def __init__(self, values: Mapping[str, Any] | None = None, parent: Env | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})
        self.parent = parent

    def get(self, name: str) -> Any:
        env: Env | None = self
        while env is not None:
            if name in env.values:
                return env.values[name]
            env = env.parent
        return None

    def names(self) -> set[str]:
        return set(self.values) | (self.parent.names() if self.parent else set())


def evaluate(expr: ast.Expr, env: Env, diags: list[Diagnostic], allow_calls: bool = False) -> Any:
    """The value of an expression; None (with a diagnostic) when it is not a value."""
    if isinstance(expr, ast.Number):
        return expr.value
    if isinstance(expr, ast.String):
        return expr.value
    if isinstance(expr, ast.Ref):
        found = env.get(expr.name.text)
        return found if found is not None else Symbol(expr.name.text)
    if isinstance(expr, ast.ListExpr):
        items = [evaluate(item, env, diags, allow_calls) for item in expr.items]
        return None if any(i is None for i in items) else tuple(items)
    if isinstance(expr, ast.BinOp):
        return _arithmetic(expr, env, diags, allow_calls)
    if isinstance(expr, ast.Call) and allow_calls:
        args = tuple(
            (a.name.text if a.name else None, evaluate(a.value, env, diags, allow_calls))
            for a in expr.args
        )
        return CallValue(expr.callee.text, args, expr.span)
    what = "a unit call" if isinstance(expr, ast.Call) else "a chain"
    diags.append(
        error(
            "E403",
            f"expected a value here, but found {what}",
            expr.span,
            "not a number, name, string or list",
        )
    )
    return None


def _arithmetic(expr: ast.BinOp, env: Env, diags: list[Diagnostic], allow_calls: bool) -> Any:
    """Fold `a op b` over integers (`//` rounds down, as Python's does); None after an E408/E409.

    Only integers: sizes, counts and axes are whole numbers, and a float would make `8 / 3`
    a question of rounding that a spec should not leave open.
    """
    left = evaluate(expr.left, env, diags, allow_calls)
    right = evaluate(expr.right, env, diags, allow_calls)
    if left is None or right is None:
        return None
    for side, value in ((expr.left, left), (expr.right, right)):
        if not isinstance(value, int) or isinstance(value, bool):
            diags.append(_not_an_integer(expr.op, side, value, env))
            return None
    if expr.op == "+":
        return left + right
    if expr.op == "-":
        return left - right
    if expr.op == "*":
        return left * right
    if right == 0:
        diags.append(
            error(
                "E409",
                "division by zero",
                expr.right.span,
                "is 0",
                help="`a // b` needs `b` to be a non-zero integer",
            )
        )
        return None
    return left // right


def _not_an_integer(op: str, side: ast.Expr, value: Any, env: Env) -> Diagnostic:
    if isinstance(value, Symbol):
        hint = did_you_mean(str(value), env.names()) or "declare it first: `let NAME = 8`"
        return error(
            "E408",
            f"`{value}` is not a `let` or block parameter, so `{op}` has no integer to work on",
            side.span,
            "not an integer",
            help=hint,
        )
    written = format_expr(side)
    what = (
        f"{written} is not one"
        if isinstance(side, ast.Number)
        else f"`{written}` is {describe(value)}"
    )
    return error(
        "E408",
        f"`{op}` works on integers, but {what}",
        side.span,
        "not an integer",
        help="arithmetic in a spec is on whole numbers (sizes, counts, axes); "
        "write other values as they are",
    )


def describe(value: Any) -> str:
    if isinstance(value, Symbol):
        return f"`{value}`"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    return str(value)


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "`true` or `false`",
    "ints": "an integer or a list of integers",
    "shape": "a list of integers",
    "choice": "one of",
    "str": "a string",
    "weight": "a number or `auto`",
}


def convert(spec: ParamSpec, value: Any) -> tuple[Any, str | None]:
    """The value in the parameter's type, or a complaint saying what was expected."""
    kind = spec.type
    if kind == "any":  # a block parameter: the block's units check it where they use it
        return value, None
    if spec.default is None and isinstance(value, Symbol) and value == "none":
        return None, None
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value, None
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), None
    if kind == "bool" and isinstance(value, Symbol) and value in ("true", "false"):
        return value == "true", None
    if kind == "str" and isinstance(value, str) and not isinstance(value, Symbol):
        return value, None
    if kind == "weight":  # a loss's weight: a number, or `auto` (learned)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), None
        if isinstance(value, Symbol) and value == "auto":
            return AUTO, None
    if kind == "choice" and isinstance(value, str):
        if value in spec.choices:
            return str(value), None
        options = ", ".join(f"`{c}`" for c in spec.choices)
        hint = did_you_mean(str(value), spec.choices)
        return None, f"expects one of {options}" + (f"; {hint}" if hint else "")
    if kind == "ints":
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        if isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
            return value, None
    if kind == "shape" and isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return value, None
    if kind == "choice":
        return None, "expects one of " + ", ".join(f"`{c}`" for c in spec.choices)
    return None, f"expects {_TYPE_WORDS[kind]}"


def bind(
    owner: str,
    specs: Sequence[ParamSpec],
    positional: Sequence[ast.Arg],
    keyword: Sequence[ast.Arg],
    env: Env,
    diags: list[Diagnostic],
    call_span: Span,
    call: ast.Call | None = None,
) -> dict[str, Any] | None:
    """Bind arguments to parameters by position then name; None if any argument is wrong.

    `call`, when given, is the call as written, so help lines can show it corrected.
    """
    given: dict[str, tuple[Any, ast.Arg]] = {}  # parameter -> (its value, the argument)
    meant: set[str] = set()  # parameters that a misspelt keyword stands for
    ok = _take_positional(owner, specs, positional, env, diags, given)
    ok = _take_keywords(owner, specs, keyword, env, diags, given, meant) and ok
    bound: dict[str, Any] = {}
    for spec in specs:
        if spec.name in given:
            value = _converted(owner, spec, specs, given[spec.name], env, diags)
        elif not spec.required:
            value = spec.default
        else:
            if spec.name not in meant:  # else the misspelt keyword's E401 says it all
                diags.append(_missing(owner, spec, call_span, call))
            value = FAILED
        if value is FAILED:
            ok = False
        else:
            bound[spec.name] = value
    return bound if ok else None


FAILED: Any = object()  # a parameter that could not be bound (its diagnostic is out)


def _take_positional(
    owner: str,
    specs: Sequence[ParamSpec],
    positional: Sequence[ast.Arg],
    env: Env,
    diags: list[Diagnostic],
    given: dict[str, tuple[Any, ast.Arg]],
) -> bool:
    for i, arg in enumerate(positional):
        if i >= len(specs):
            extra = positional[i:]
            span = extra[0].span.cover(extra[-1].span)
            diags.append(
                error(
                    "E405",
                    f"`{owner}` takes {_count(len(specs), 'parameter')}, but got {len(positional)}",
                    span,
                    f"{_count(len(extra), 'extra argument')}",
                    help=f"its parameters are {signature(specs)}"
                    if specs
                    else "remove the extra arguments",
                )
            )
            return False
        given[specs[i].name] = (evaluate(arg.value, env, diags), arg)
    return True


def _take_keywords(
    owner: str,
    specs: Sequence[ParamSpec],
    keyword: Sequence[ast.Arg],
    env: Env,
    diags: list[Diagnostic],
    given: dict[str, tuple[Any, ast.Arg]],
    meant: set[str],
) -> bool:
    ok = True
    names = [s.name for s in specs]
    for arg in keyword:
        assert arg.name is not None
        key = arg.name.text
        if key not in names:
            hint = did_you_mean(key, names)
            if hint is not None:
                meant.add(hint.split("`")[1])
            listing = (
                f"its parameters are {signature(specs)}" if names else "it takes no parameters"
            )
            diags.append(
                error(
                    "E401",
                    f"`{owner}` has no parameter `{key}`",
                    arg.name.span,
                    "unknown parameter",
                    help=hint or listing,
                )
            )
            ok = False
        elif key in given:
            diags.append(
                error(
                    "E406",
                    f"parameter `{key}` of `{owner}` is given twice",
                    arg.span,
                    "given again here",
                    secondary=[(given[key][1].span, "first given here")],
                    help="keep one of them",
                )
            )
            ok = False
        else:
            given[key] = (evaluate(arg.value, env, diags), arg)
    return ok


def _missing(owner: str, spec: ParamSpec, call_span: Span, call: ast.Call | None) -> Diagnostic:
    what = (
        f"its parameter `{spec.name}`" if spec.type == "any" else f"`{spec.name}`: {spec.doc}"
    )  # a block's parameters have no doc
    return error(
        "E402",
        f"`{owner}` is missing {what}",
        call_span,
        f"`{spec.name}` is missing",
        help=_missing_help(spec, call),
    )


def _converted(
    owner: str,
    spec: ParamSpec,
    specs: Sequence[ParamSpec],
    given: tuple[Any, ast.Arg],
    env: Env,
    diags: list[Diagnostic],
) -> Any:
    """The given value in the parameter's type, or FAILED with its E403/E404 in `diags`."""
    raw, arg = given
    if raw is None:  # its value did not evaluate: that error is out already
        return FAILED
    value, complaint = convert(spec, raw)
    if complaint is None and spec.check is not None and value is not None:
        complaint = spec.check(value)
        code, label = "E404", "out of range"
    else:
        code, label = "E403", _label(spec)
    if not complaint:
        return value
    main, _, hint = complaint.partition("; ")
    message = f"`{spec.name}` of `{owner}` {main}, but got {describe(raw)}"
    note = None
    if code == "E403" and spec.type == "choice" and isinstance(raw, str):
        message = f"{describe(raw)} is not a valid `{spec.name}` for `{owner}`"
        note = f"`{spec.name}` {main}"
    diags.append(
        error(
            code,
            message,
            arg.value.span,
            label,
            note=note,
            help=hint or _type_hint(spec, raw, specs, env, arg),
        )
    )
    return FAILED


def signature(specs: Sequence[ParamSpec]) -> str:
    """`n`, `act=none`, `bias=true`: the parameters as a call would name them."""
    return ", ".join(
        f"`{s.name}`" if s.required else f"`{s.name}={_shown(s.default)}`" for s in specs
    )


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return str(value)
    if not isinstance(value, (int, float, tuple)):
        return "..."  # a block parameter's default, evaluated where the block is used
    return describe(value).strip("`")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _label(spec: ParamSpec) -> str:
    if spec.type == "choice":
        return f"not a valid `{spec.name}`"
    return "not " + _TYPE_WORDS.get(spec.type, "a value")


def _missing_help(spec: ParamSpec, call: ast.Call | None) -> str:
    if call is None:
        return f'add `{spec.name}="..."`' if spec.type == "str" else f"add `{spec.name}=...`"
    from netspec.lang.printer import format_expr

    value = ast.String("...") if spec.type == "str" else ast.Ref(ast.Ident("..."))
    placeholder = ast.Arg(ast.Ident(spec.name), value)
    fixed = ast.Call(call.callee, (*call.args, placeholder))
    return f"add it: `{format_expr(fixed)}`"


def _type_hint(
    spec: ParamSpec, raw: Any, specs: Sequence[ParamSpec], env: Env, arg: ast.Arg
) -> str | None:
    """Why a value does not fit: it belongs to another parameter, or is a misspelt `let`."""
    if isinstance(raw, Symbol):
        for other in specs:
            if other is not spec and other.type == "choice" and raw in other.choices:
                hint = f"`{raw}` is a value of `{other.name}`, so name it: `{other.name}={raw}`"
                if arg.name is None:
                    hint += f"; this position is `{spec.name}`, the {spec.doc}"
                return hint
        close = did_you_mean(str(raw), env.names())
        if close:
            return close
        if spec.type in ("int", "float", "ints"):
            return f"`{raw}` is no `let`; write a number"
        if spec.type == "str":
            return f'write it in double quotes: `{spec.name}="{raw}"`'
    if isinstance(raw, str) and spec.type in ("int", "float", "ints"):
        try:
            float(raw)
        except ValueError:
            return None
        return f"write the number without quotes: `{raw}`"
    return None
