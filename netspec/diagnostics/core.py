"""Diagnostics as data: a code, a message, labelled spans, help and a note (see render.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from enum import Enum

from netspec.lang.source import Sources, Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Label:
    """A span with a short message; the primary label carries the caret."""

    span: Span
    message: str = ""
    primary: bool = False


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    labels: tuple[Label, ...] = ()
    help: str | None = None
    note: str | None = None
    severity: Severity = Severity.ERROR

    @property
    def primary_span(self) -> Span | None:
        for label in self.labels:
            if label.primary:
                return label.span
        return self.labels[0].span if self.labels else None


def error(
    code: str,
    message: str,
    span: Span | None,
    label: str = "",
    *,
    help: str | None = None,
    note: str | None = None,
    secondary: Sequence[tuple[Span, str]] = (),
) -> Diagnostic:
    """Build an error with one primary label and optional secondary ones."""
    labels = [Label(span, label, primary=True)] if span is not None else []
    labels += [Label(s, m) for s, m in secondary]
    return Diagnostic(code, message, tuple(labels), help, note)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A help line suggesting the closest candidate, if one is close.

    >>> did_you_mean("dense_", ["dense", "dropout"])
    'did you mean `dense`?'
    """
    close = get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


@dataclass
class NetspecError(Exception):
    """Raised by the library API when a spec has errors; carries every diagnostic found."""

    diagnostics: list[Diagnostic]
    sources: Sources = field(default_factory=Sources)

    def __str__(self) -> str:
        from netspec.diagnostics.render import render_text

        return render_text(self.diagnostics, self.sources, color=False)
