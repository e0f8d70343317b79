"""Failures outside the spec text: a data file, a checkpoint, a run folder, the machine.

Each is one diagnostic with a stable code, rendered like a spec error (exit status 1), so a user
never meets raw library text. The location, when there is one, may point into a data file
(`data.csv:12:3`: row 12, column 3); only `.net` sources are ever quoted as excerpts.
Subclasses (DataError, RunError, TrainError...) give a default code for sites not yet given one.
"""

from __future__ import annotations

from netspec.diagnostics.core import Diagnostic, error
from netspec.lang.source import Span


class Failure(Exception):
    """A user-fixable problem that is not in the spec's text: one coded diagnostic."""

    code = "E700"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        help: str | None = None,
        note: str | None = None,
        span: Span | None = None,
        label: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.help = help
        self.note = note
        self.span = span
        self.label = label

    @property
    def diagnostic(self) -> Diagnostic:
        return error(self.code, self.message, self.span, self.label, help=self.help, note=self.note)


def at(file: str, row: int, col: int = 1) -> Span:
    """A location in a data file (1-based row and column), shown as `file:row:col`."""
    return Span(file, 0, 0, row, col, row, col)
