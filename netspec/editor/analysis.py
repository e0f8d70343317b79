"""One document's compile for the language server: its parse, its checked networks when it
compiles, and its diagnostics placed in the document (an error in a `use`d file at that `use`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netspec.api import Compiled, compile_module, parse_or_raise
from netspec.diagnostics.core import Diagnostic, NetspecError
from netspec.lang import ast
from netspec.lang.parser import parse
from netspec.lang.source import Sources
from netspec.plan.sweep import points_unchecked


@dataclass(frozen=True)
class Analysis:
    """What compiling one version of a document found."""

    text: str
    path: str
    module: ast.Module | None  # None when the text does not parse
    compiled: Compiled | None  # None when it has errors
    diagnostics: tuple[Diagnostic, ...]
    sources: Sources


@dataclass(frozen=True)
class Placed:
    """A diagnostic with the character range it is shown at in the document."""

    diagnostic: Diagnostic
    start: int
    end: int
    elsewhere: bool = False  # it is in a file the document `use`s: shown at that `use`


def analyse(text: str, path: str, allow_paths: Sequence[str | Path] = ()) -> Analysis:
    """Parse and compile a document's text as the file `path`; errors are data, not raised."""
    sources = Sources()
    sources.add(path, text)
    module: ast.Module | None = None
    compiled: Compiled | None = None
    try:
        module = parse_or_raise(text, path, sources)
        with points_unchecked():  # not every sweep point on each keystroke: `check` does that
            compiled = compile_module(module, sources, allow_paths=allow_paths)
        diagnostics = tuple(compiled.diagnostics)
    except NetspecError as exc:
        diagnostics = tuple(exc.diagnostics)
        sources = exc.sources
    return Analysis(text, path, module, compiled, diagnostics, sources)


def placed(analysis: Analysis) -> list[Placed]:
    """Every diagnostic at its range in the document: its own span when it is in the document,
    else the `use` that leads to the file it is in, else the document's start."""
    out = []
    for diag in analysis.diagnostics:
        span = diag.primary_span
        if span is not None and span.file == analysis.path:
            out.append(Placed(diag, span.start, span.end))
            continue
        use = _use_leading_to(span.file, analysis) if span is not None else None
        if use is not None:
            out.append(Placed(diag, use.span.start, use.span.end, elsewhere=True))
        else:
            out.append(Placed(diag, 0, 0, elsewhere=span is not None))
    return out


def used_path(raw: str, naming_file: str) -> str:
    """The path a `use "raw"` in `naming_file` reads, as the compiler names it in spans."""
    return str(Path(naming_file).parent / raw)


def _use_leading_to(target: str, analysis: Analysis) -> ast.Use | None:
    """The document's `use` whose file is `target` or (transitively) uses it."""
    if analysis.module is None:
        return None
    for use in _uses(analysis.module):
        if _leads_to(used_path(use.path.value, analysis.path), target, analysis.sources, set()):
            return use
    return None


def _leads_to(file: str, target: str, sources: Sources, seen: set[str]) -> bool:
    if file == target:
        return True
    text = sources.text(file)
    if text is None or file in seen:
        return False
    seen.add(file)
    try:
        module = parse(text, file)
    except NetspecError:
        return False
    return any(
        _leads_to(used_path(u.path.value, file), target, sources, seen) for u in _uses(module)
    )


def _uses(module: ast.Module) -> list[ast.Use]:
    return [item for item in module.items if isinstance(item, ast.Use)]
