"""Evaluate value expressions (numbers, strings, lists, `let` names, symbols) and bind them to
a signature's parameters, reporting E4xx diagnostics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netspec import ast
from netspec.diagnostics import Diagnostic, did_you_mean, error
from netspec.source import Span
from netspec.units.base import ParamSpec


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
    if isinstance(expr, ast.Call) and allow_calls:
        args = tuple(
            (a.name.text if a.name else None, evaluate(a.value, env, diags, allow_calls))
            for a in expr.args
        )
        return CallValue(expr.callee.text, args, expr.span)
    what = "a unit call" if isinstance(expr, ast.Call) else "a chain"
    diags.append(error("E403", f"expected a value here, but found {what}", expr.span,
                       "not a number, name, string or list"))
    return None


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
}


def convert(spec: ParamSpec, value: Any) -> tuple[Any, str | None]:
    """The value in the parameter's type, or a complaint saying what was expected."""
    kind = spec.type
    if spec.default is None and isinstance(value, Symbol) and value == "none":
        return None, None
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value, None
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), None
    if kind == "bool" and isinstance(value, Symbol) and value in ("true", "false"):
        return value == "true", None
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
) -> dict[str, Any] | None:
    """Bind arguments to parameters by position then name; None if any argument is wrong."""
    ok = True
    given: dict[str, tuple[Any, ast.Arg]] = {}
    for i, arg in enumerate(positional):
        if i >= len(specs):
            names = ", ".join(f"`{s.name}`" for s in specs) or "no parameters"
            diags.append(error("E405", f"`{owner}` takes {len(specs)} parameter{'s' * (len(specs) != 1)} "
                               f"({names}), but got more", arg.span, "one argument too many"))
            ok = False
            break
        given[specs[i].name] = (evaluate(arg.value, env, diags), arg)
    names = [s.name for s in specs]
    for arg in keyword:
        assert arg.name is not None
        key = arg.name.text
        if key not in names:
            hint = did_you_mean(key, names)
            listing = "its parameters are " + ", ".join(f"`{n}`" for n in names) if names else "it takes no parameters"
            diags.append(error("E401", f"`{owner}` has no parameter `{key}`", arg.name.span,
                               "unknown parameter", help=hint or listing))
            ok = False
            continue
        if key in given:
            diags.append(error("E406", f"parameter `{key}` of `{owner}` is given twice", arg.span,
                               "given again here", secondary=[(given[key][1].span, "first given here")]))
            ok = False
            continue
        given[key] = (evaluate(arg.value, env, diags), arg)
    bound: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in given:
            if spec.required:
                example = f"`{spec.name}=...`"
                diags.append(error("E402", f"`{owner}` needs `{spec.name}` ({spec.doc})", call_span,
                                   f"`{spec.name}` is missing", help=f"add {example}"))
                ok = False
            else:
                bound[spec.name] = spec.default
            continue
        raw, arg = given[spec.name]
        if raw is None:
            ok = False
            continue
        value, complaint = convert(spec, raw)
        if complaint is None and spec.check is not None and value is not None:
            complaint = spec.check(value)
            code = "E404"
        else:
            code = "E403"
        if complaint:
            diags.append(error(code, f"`{spec.name}` (={describe(raw)}) of `{owner}` {complaint}",
                               arg.value.span, complaint.split(";")[0],
                               help=_unknown_name_hint(raw, env)))
            ok = False
            continue
        bound[spec.name] = value
    return bound if ok else None


def _unknown_name_hint(raw: Any, env: Env) -> str | None:
    if isinstance(raw, Symbol):
        return did_you_mean(str(raw), env.names())
    return None
