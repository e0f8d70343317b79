"""`--set NAME=VALUE` on the command line: replace a top-level `let`, a train setting
(`epochs=3`, every train section's), one stage's setting (`finetune.lr=0.01`) or one loss's
parameter (`reconstruct.weight=0`), before anything reads the spec. A run's comparison with and
without an auxiliary loss, or with another learning rate for one stage, is then one flag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from netspec.build.program import Program
from netspec.build.values import Env, Symbol, describe, evaluate
from netspec.diagnostics.core import Diagnostic, NetspecError, did_you_mean, error
from netspec.lang import ast
from netspec.lang.parser import parse
from netspec.plan import catalog

_WHERE = "<--set>"


def apply(
    program: Program, overrides: Mapping[str, str], env: Env, diags: list[Diagnostic]
) -> None:
    for name, text in overrides.items():
        value = _value(name, text, diags)
        if value is None:
            continue
        if name in program.lets:
            found = evaluate(value, env, diags)
            declared = evaluate(program.lets[name].value, env, [])  # the spec's own value
            if found is not None and declared is not None and not _fits(found, declared):
                diags.append(_misfit(program.lets[name], text, declared, found))
            elif found is not None:
                env.values[name] = found
        elif "." in name:
            owner, _, key = name.partition(".")
            found = _set_stage(program, owner, key, value) or _set_loss(program, owner, key, value)
            if not found:
                why = f"no stage or named loss `{owner}`"
                diags.append(_unknown(program, name, why, owner))
        elif name in catalog.SECTION_KEYS or name in catalog.SHARED_KEYS:
            if not program.trains:
                diags.append(_unknown(program, name, "the spec has no train section"))
            program.trains = [_with_setting(t, name, value) for t in program.trains]
        else:
            diags.append(_unknown(program, name, "no top-level `let` or train setting"))


def _kind(value: object) -> str:
    """What a `let` holds, in words: a `--set` must give the same kind."""
    if isinstance(value, bool) or value in ("true", "false"):
        return "`true` or `false`"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, tuple):
        return "a list"
    if isinstance(value, Symbol):
        return "a name"
    return "a string" if isinstance(value, str) else "a value"


def _fits(value: object, declared: object) -> bool:
    """The same kind, any number for a number (the units check their own ranges), or anything
    for a let that holds `none` (unset)."""
    numbers = {"an integer", "a number"}
    if declared == "none" or _kind(value) == _kind(declared):
        return True
    return _kind(value) in numbers and _kind(declared) in numbers


def _misfit(let: ast.Let, text: str, declared: object, given: object) -> Diagnostic:
    name = let.name.text
    return error(
        "E213",
        f"`--set {name}={text}`: `{name}` holds {_kind(declared)}, but `{text}` is {_kind(given)}",
        let.span,
        f"`{name}` declared here",
        help=f"give {_kind(declared)}, as in `let {name} = {describe(declared).strip('`')}`",
    )


def _value(name: str, text: str, diags: list[Diagnostic]) -> ast.Expr | None:
    try:
        item = parse(f"let value = {text}", _WHERE).items[0]
    except NetspecError:
        diags.append(
            error(
                "E213",
                f"cannot read the value of `--set {name}={text}`",
                None,
                help="values are numbers, names, strings or lists like [1, 8, 8]",
            )
        )
        return None
    assert isinstance(item, ast.Let)
    return item.value


def _setting(key: str, value: ast.Expr) -> ast.Setting:
    """A setting written on the command line: diagnostics about it point at `<--set>`."""
    return ast.Setting(ast.Ident(key, value.span), value, value.span)


Settings = tuple[ast.Setting, ...]


def _replaced(settings: Settings, key: str, value: ast.Expr) -> Settings:
    kept = tuple(replace(s, value=value) if s.key.text == key else s for s in settings)
    return kept if any(s.key.text == key for s in settings) else (*kept, _setting(key, value))


def _with_setting(train: ast.Train, key: str, value: ast.Expr) -> ast.Train:
    """The section's setting replaced where it is written, or added before the first stage."""
    body = [
        replace(s, value=value) if isinstance(s, ast.Setting) and s.key.text == key else s
        for s in train.body
    ]
    if not any(isinstance(s, ast.Setting) and s.key.text == key for s in train.body):
        at = next((i for i, s in enumerate(body) if isinstance(s, ast.Stage)), len(body))
        body.insert(at, _setting(key, value))
    return replace(train, body=tuple(body))


def _set_stage(program: Program, stage: str, key: str, value: ast.Expr) -> bool:
    found = False
    trains = []
    for train in program.trains:
        body: list[ast.Setting | ast.Stage | ast.Sweep] = []
        for item in train.body:
            if isinstance(item, ast.Stage) and item.name.text == stage:
                item = replace(item, settings=_replaced(item.settings, key, value))
                found = True
            body.append(item)
        trains.append(replace(train, body=tuple(body)))
    program.trains = trains
    return found


def _set_loss(program: Program, loss: str, key: str, value: ast.Expr) -> bool:
    found = False
    for name, network in program.networks.items():
        body = []
        for statement in network.body:
            if (
                isinstance(statement, ast.Loss)
                and statement.name is not None
                and statement.name.text == loss
                and isinstance(statement.value, ast.Call)
            ):
                statement = replace(statement, value=_with_arg(statement.value, key, value))
                found = True
            body.append(statement)
        program.networks[name] = replace(network, body=tuple(body))
    return found


def _with_arg(call: ast.Call, key: str, value: ast.Expr) -> ast.Call:
    args = tuple(
        replace(a, value=value) if a.name is not None and a.name.text == key else a
        for a in call.args
    )
    if not any(a.name is not None and a.name.text == key for a in call.args):
        args = (*args, ast.Arg(ast.Ident(key), value))
    return replace(call, args=args)


def _unknown(program: Program, name: str, why: str, owner: str = "") -> Diagnostic:
    stages = [s.name.text for t in program.trains for s in t.body if isinstance(s, ast.Stage)]
    losses = [
        s.name.text
        for n in program.networks.values()
        for s in n.body
        if isinstance(s, ast.Loss) and s.name is not None
    ]
    settings = [*catalog.SECTION_KEYS, *catalog.SHARED_KEYS]
    candidates = [*program.lets, *settings, *(f"{s}.{k}" for s in stages for k in settings)]
    candidates += [f"{loss}.weight" for loss in losses]
    close = did_you_mean(owner, [*stages, *losses]) if owner else did_you_mean(name, candidates)
    hint = close or (
        "it names a top-level `let`"
        + (f" ({', '.join(f'`{n}`' for n in program.lets)})" if program.lets else "")
        + ", a train setting (`epochs`), a stage's (`STAGE.lr`)"
        + (f", stages: {', '.join(stages)}" if stages else "")
        + ", or a named loss's parameter (`LOSS.weight`)"
        + (f", losses: {', '.join(losses)}" if losses else "")
    )
    return error("E213", f"`--set {name}=...`: {why}", None, help=hint)
