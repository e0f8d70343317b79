"""The library API: compile `.net` text or files into checked networks, or raise NetspecError.
Its torch side, `lower` and `export`, is `netspec.backend.api`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netspec.build import overrides as overrides_
from netspec.build.network import build, evaluate_lets
from netspec.build.program import Program, Reader, gather
from netspec.build.values import Env
from netspec.check import check
from netspec.diagnostics.core import Diagnostic, NetspecError, Severity, error
from netspec.ir import Graph, Role
from netspec.lang import ast
from netspec.lang.parser import parse
from netspec.lang.source import Sources
from netspec.plan.sweep import check_points, sweeps_of
from netspec.plan.trainspec import TrainPlan, plan_training
from netspec.views.draw import draw


@dataclass
class Compiled:
    """A checked program: every network's IR with types and parameter counts, its training plans,
    the sources read, and any warnings."""

    program: Program
    networks: dict[str, Graph]
    trains: dict[str, TrainPlan]
    sources: Sources
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def _repr_svg_(self) -> str:
        """Notebooks show a compiled spec as the drawing of its main network."""
        svg = draw(self, fmt="svg")
        return svg.decode("utf-8") if isinstance(svg, bytes) else svg

    def network(self, name: str | None = None) -> Graph:
        """The named network, or the one that a `train` section names, or the first."""
        if name is None:
            name = next(iter(self.trains), None) or next(iter(self.networks))
        return self.networks[name]


def compile(
    text: str,
    file: str = "<string>",
    overrides: Mapping[str, str] | None = None,
    *,
    allow_paths: Sequence[str | Path] = (),
    read: Reader | None = None,
) -> Compiled:
    """Parse, build and check a spec; raise NetspecError listing every error found.

    The spec reads (`use`, data files) only under its file's folder (the current directory for
    a `<string>`) and under `allow_paths`; `read` (path -> text) replaces reading the files it
    `use`s from the disk.

    >>> net = compile("network n { input x: [4]  y = x -> dense(3) }").network()
    >>> net.node("y").type, net.node("y").meta["params"]
    (TensorType(dims=(3,), dtype='real', classes=None), 15)
    """
    sources = Sources()
    sources.add(file, text)
    module = parse_or_raise(text, file, sources)
    return compile_module(module, sources, overrides, allow_paths=allow_paths, read=read)


def compile_file(
    path: str | Path,
    overrides: Mapping[str, str] | None = None,
    *,
    allow_paths: Sequence[str | Path] = (),
) -> Compiled:
    """`compile` on a file; unreadable files raise NetspecError (E100)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise NetspecError([error("E100", f"cannot read `{name}`: {reason}", None)]) from None
    return compile(text, name, overrides, allow_paths=allow_paths)


def parse_or_raise(text: str, file: str, sources: Sources) -> ast.Module:
    try:
        return parse(text, file)
    except NetspecError as exc:
        exc.sources = sources
        raise


def compile_module(
    module: ast.Module,
    sources: Sources,
    overrides: Mapping[str, str] | None = None,
    *,
    allow_paths: Sequence[str | Path] = (),
    read: Reader | None = None,
) -> Compiled:
    diags: list[Diagnostic] = []
    program = gather(module, sources, diags, read, allow_paths=allow_paths)
    env = Env()
    overrides_.apply(program, overrides or {}, env, diags)
    evaluate_lets(list(program.lets.values()), env, diags)
    networks = build(program, env, diags)
    for graph in networks.values():
        check(graph, sources, diags)
        problems = graph.lint()
        assert not problems, f"IR invariants broken: {problems}"
    trains = plan_training(program, networks, env, diags, allow_paths)
    errors = _dedupe([d for d in diags if d.severity is Severity.ERROR])
    if not errors:  # each sweep point compiles too, before any trial runs (netspec.plan.sweep)
        errors = check_points(
            sweeps_of(program, trains),
            overrides or {},
            lambda point: compile_module(
                module, sources, point, allow_paths=allow_paths, read=read
            ),
        )
    if errors:
        raise NetspecError(errors, sources)
    warnings = [d for d in diags if d.severity is not Severity.ERROR]
    return Compiled(program, networks, trains, sources, warnings)


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Repeated units (`* 3`) can fail identically; report each failure once, in source order."""
    seen: set[tuple[object, ...]] = set()
    unique = []
    for d in diags:
        key = (d.code, d.message, d.primary_span)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return sorted(unique, key=lambda d: _order(d))


def _order(d: Diagnostic) -> tuple[str, int]:
    span = d.primary_span
    return ("", -1) if span is None else (span.file, span.start)


def total_params(graph: Graph) -> int:
    """The parameter count of a checked network: the sum over its units (and the losses'
    learned weights).

    >>> total_params(compile("network n { input x: [4]  y = x -> dense(3) }").network())
    15
    """
    learns = (Role.UNIT, Role.LOSS)
    return sum(int(n.meta.get("params", 0)) for n in graph.nodes() if n.role in learns)
