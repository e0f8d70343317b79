"""Text positions for the language server: character offsets to LSP (line, character) and back.

LSP counts a line's characters in code units of the negotiated encoding (UTF-16 unless the
client and server agree on another), while netspec's spans are offsets into the Python string;
the two differ on every character outside the Basic Multilingual Plane (and, in UTF-8, on every
character that is not ASCII).
"""

from __future__ import annotations

import re
from bisect import bisect_right

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _units(char: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(char.encode("utf-8"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(char) > 0xFFFF else 1


class LineIndex:
    """Where each line of a text starts, to convert offsets and LSP positions.

    >>> index = LineIndex("ab\\n\U0001f600x")
    >>> index.position(4), index.offset(1, 2)
    ((1, 2), 4)
    """

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.encoding = encoding
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        """The 0-based line and code-unit column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        if self.encoding == "utf-32":
            return line, offset - start
        return line, sum(_units(c, self.encoding) for c in self.text[start:offset])

    def offset(self, line: int, character: int) -> int:
        """The character offset of a 0-based line and code-unit column, clamped to the line."""
        if line >= len(self.starts):
            return len(self.text)
        start = self.starts[max(line, 0)]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        count, offset = 0, start
        while offset < end and count < character and self.text[offset] not in "\r\n":
            count += _units(self.text[offset], self.encoding)
            offset += 1
        return offset


def word_at(text: str, offset: int) -> tuple[str, int, int] | None:
    """The name under (or just before) `offset`, with its start and end offsets.

    >>> word_at("x -> dense(64)", 7)
    ('dense', 5, 10)
    """
    for match in _WORD.finditer(text, max(0, offset - 200), offset + 200):
        if match.start() <= offset <= match.end():
            return match.group(), match.start(), match.end()
    return None
