"""Quick fixes: the concrete edit a diagnostic's `help` proposes, when it proposes one.

Three kinds of help name an edit exactly: `did you mean `dense`?` (replace the misspelt word
the diagnostic points at), `insert `flatten` before `dense`` (in a chain, insert a link before
the call) and `add it: `dense(n=...)`` (E402, a missing parameter: the call with it added).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netspec.diagnostics.core import Diagnostic
from netspec.editor.positions import word_at

_DID_YOU_MEAN = re.compile(r"did you mean `([A-Za-z_][A-Za-z0-9_]*)`\?")
_INSERT_BEFORE = re.compile(r"^insert `([A-Za-z_][A-Za-z0-9_]*)` before `")
_ADD_IT = re.compile(r"^add it: `([^`]+)`$")


@dataclass(frozen=True)
class Fix:
    """Replace the text from `start` to `end` (character offsets) with `text`."""

    title: str
    start: int
    end: int
    text: str


def fix_for(diag: Diagnostic, text: str, path: str) -> Fix | None:
    """The edit that `diag`'s help proposes in the document `text` (the file `path`), if any.

    >>> from netspec.diagnostics.core import error
    >>> from netspec.lang.source import Span
    >>> diag = error("E201", "unknown unit kind `dens`", Span("a.net", 5, 9, 1, 6, 1, 10),
    ...              help="did you mean `dense`?")
    >>> fix_for(diag, "x -> dens(3)", "a.net")
    Fix(title='Change to `dense`', start=5, end=9, text='dense')
    """
    span = diag.primary_span
    if diag.help is None or span is None or span.file != path:
        return None
    if match := _DID_YOU_MEAN.search(diag.help):
        word = word_at(text, span.start)
        if word is None or word[1] != span.start:
            return None
        return Fix(f"Change to `{match[1]}`", word[1], word[2], match[1])
    if match := _INSERT_BEFORE.match(diag.help):
        if not text[: span.start].rstrip().endswith("->"):
            return None  # not a link of a chain: the help's chain is a rewrite, not an insert
        return Fix(f"Insert `{match[1]}` before it", span.start, span.start, f"{match[1]} -> ")
    if match := _ADD_IT.match(diag.help):
        callee = word_at(text, span.start)
        if callee is None or not match[1].startswith(callee[0] + "("):
            return None
        return Fix(f"Add the parameter: `{match[1]}`", span.start, span.end, match[1])
    return None
