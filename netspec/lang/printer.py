"""Print an AST back to canonical `.net` text (`netspec fmt`), keeping every comment.

Canonical form: 4-space indents, one statement per line, a blank line between items (but not
between consecutive `use`s or `let`s), one blank line inside a body where the source had any, an
empty body as `{}`, and `->` chains broken before each arrow when longer than the line width.
`parse(format_module(m)) == m`, and formatting is idempotent.
"""

from __future__ import annotations

import re

from netspec.lang import ast

WIDTH = 100
INDENT = "    "
# What a string literal cannot hold as itself (\r and \t would not survive editors and reading).
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def format_expr(expr: ast.Expr | ast.Link) -> str:
    """One expression on one line.

    >>> from netspec.lang.parser import parse
    >>> net = parse("network n { y = x->dense( 3 ,act = relu)->(relu->dropout(0.1))*2 }").items[0]
    >>> format_expr(net.body[0].value)
    'x -> dense(3, act=relu) -> (relu -> dropout(0.1)) * 2'
    """
    if isinstance(expr, ast.Number):
        return expr.text
    if isinstance(expr, ast.String):
        return '"' + "".join(_ESCAPES.get(ch, ch) for ch in expr.value) + '"'
    if isinstance(expr, ast.Ref):
        return expr.name.text
    if isinstance(expr, ast.Call):
        return f"{expr.callee.text}({_args(expr.args)})"
    if isinstance(expr, ast.ListExpr):
        return "[" + ", ".join(format_expr(i) for i in expr.items) + "]"
    if isinstance(expr, ast.Chain):
        return " -> ".join([format_expr(expr.head), *(format_expr(link) for link in expr.links)])
    if isinstance(expr, ast.Repeat):
        if expr.grouped:
            inner = "(" + " -> ".join(format_expr(link) for link in expr.links) + ")"
        else:
            inner = format_expr(expr.links[0])
        count = format_expr(expr.count)
        return f"{inner} * ({count})" if isinstance(expr.count, ast.BinOp) else f"{inner} * {count}"
    if isinstance(expr, ast.BinOp):
        return _arithmetic(expr)
    raise TypeError(f"not an expression: {expr!r}")


def _arithmetic(expr: ast.BinOp) -> str:
    """`a op b` with the brackets its operands need and no others.

    >>> from netspec.lang.parser import parse
    >>> format_expr(parse("let a = ((n+1))*(4) - (m // (2*k))").items[0].value)
    '(n + 1) * 4 - m // (2 * k)'
    """
    rank = ast.OPERATORS[expr.op]
    left, right = format_expr(expr.left), format_expr(expr.right)
    # A chain in brackets: `(x -> f) * 2` is arithmetic, `x -> f * 2` a repetition.
    if isinstance(expr.left, ast.Chain) or (
        isinstance(expr.left, ast.BinOp) and ast.OPERATORS[expr.left.op] < rank
    ):
        left = f"({left})"
    if isinstance(expr.right, ast.Chain) or (
        isinstance(expr.right, ast.BinOp) and ast.OPERATORS[expr.right.op] <= rank
    ):
        right = f"({right})"  # left-associative: `a - (b - c)` keeps its brackets
    return f"{left} {expr.op} {right}"


def _args(args: tuple[ast.Arg, ...]) -> str:
    return ", ".join((f"{a.name.text}=" if a.name else "") + format_expr(a.value) for a in args)


def _value_lines(prefix: str, expr: ast.Expr, indent: str) -> list[str]:
    """`prefix + expr`, breaking a long chain before each `->`, aligned under the head."""
    line = prefix + format_expr(expr)
    if len(indent + line) <= WIDTH or not isinstance(expr, ast.Chain):
        return [line]
    head = prefix + format_expr(expr.head)
    pad = " " * len(prefix)
    return [head] + [f"{pad}-> {format_expr(link)}" for link in expr.links]


def _input_type(t: ast.InputType) -> str:
    shape = format_expr(t.shape) if t.shape is not None else ""
    if t.kind.text == "real" and t.shape is not None and not t.args:
        return shape
    args = f"({_args(t.args)})" if t.args else ""
    return f"{t.kind.text}{args}{shape}"


def _statement(stmt: ast.Statement | ast.Setting | ast.Let, indent: str) -> list[str]:
    if isinstance(stmt, ast.Input):
        typed = f": {_input_type(stmt.type)}" if stmt.type is not None else ""
        return [f"input {stmt.name.text}{typed}"]
    if isinstance(stmt, ast.Let):
        return _value_lines(f"let {stmt.name.text} = ", stmt.value, indent)
    if isinstance(stmt, ast.Assign):
        targets = ", ".join(t.text for t in stmt.targets)
        return _value_lines(f"{targets} = ", stmt.value, indent)
    if isinstance(stmt, ast.Output):
        return ["output " + ", ".join(n.text for n in stmt.names)]
    if isinstance(stmt, ast.Loss):
        named = f"{stmt.name.text} = " if stmt.name else ""
        return _value_lines(f"loss {named}", stmt.value, indent)
    if isinstance(stmt, ast.Setting):
        return _value_lines(f"{stmt.key.text} = ", stmt.value, indent)
    raise TypeError(f"not a statement: {stmt!r}")


def _objective(text: str) -> str:
    """`min val/loss` bare when it parses back so, else quoted as written.

    >>> _objective("min val/loss"), _objective("lowest loss please")
    ('min val/loss', '"lowest loss please"')
    """
    if _BARE_OBJECTIVE.fullmatch(text):
        return text
    return format_expr(ast.String(text))


_BARE_OBJECTIVE = re.compile(r"[A-Za-z_]\w* [A-Za-z_]\w*(/[A-Za-z_]\w*)*", re.ASCII)


class _Printer:
    """Lays out items and statements, placing each comment of the source next to its node.

    A comment before a node goes on its own line above it; comments on the lines a node covers
    trail its last line (only one fits there: the others go on their own lines above it, since a
    comment runs to the end of its line).
    """

    def __init__(self, module: ast.Module) -> None:
        self.comments = sorted(module.comments, key=lambda c: c.span.start)
        self.next = 0
        self.lines: list[str] = []
        self.last_line = 0  # last source line printed, to keep the author's blank lines

    def _gap(self, start_line: int) -> None:
        """One blank line where the source had one or more before this child."""
        if self.last_line and start_line > self.last_line + 1 and self.lines[-1].strip():
            self.lines.append("")

    def _leading(self, before: int, indent: str) -> None:
        """Comments that start before offset `before`, each on its own line."""
        while self._comment_before(before):
            self.lines.append(indent + self.comments[self.next].text)
            self.next += 1

    def _comment_before(self, offset: int) -> bool:
        return self.next < len(self.comments) and self.comments[self.next].span.start < offset

    def _on_lines(self, last_line: int) -> list[str]:
        """The comments not yet placed that sit on or before `last_line`."""
        found = []
        while self.next < len(self.comments) and self.comments[self.next].span.line <= last_line:
            found.append(self.comments[self.next].text)
            self.next += 1
        return found

    def _place(self, lines: list[str], indent: str, comments: list[str]) -> None:
        """Print `lines`, the last comment trailing them and any others on their own lines above."""
        self.lines += [indent + c for c in comments[:-1]]
        self.lines += [indent + line for line in lines]
        if comments:
            self.lines[-1] += "  " + comments[-1]

    def _first_line(self, span_line: int, start: int) -> int:
        """The line a child starts on, counting the comments that lead it."""
        if self._comment_before(start):
            return self.comments[self.next].span.line
        return span_line

    def emit(self, node: object, lines: list[str], indent: str, in_body: bool = True) -> None:
        span = node.span  # type: ignore[attr-defined]
        if in_body:
            self._gap(self._first_line(span.line, span.start))
        self._leading(span.start, indent)
        self._place(lines, indent, self._on_lines(span.end_line))
        self.last_line = span.end_line

    def body(self, header: object, opening: str, children: tuple[object, ...], indent: str) -> None:
        span = header.span  # type: ignore[attr-defined]
        if indent:
            self._gap(self._first_line(span.line, span.start))
        self._leading(span.start, indent)
        self.last_line = 0  # no blank line right after `{`
        first_line = children[0].span.line if children else span.end_line  # type: ignore[attr-defined]
        # Comments on the header's own line, before the first child, trail the `{`.
        on_header = self._on_lines(min(span.line, first_line - 1))
        if not children and not self._comment_before(span.end):
            closing = self._on_lines(span.end_line)
            if len(on_header) + len(closing) <= 1:  # `name {}` on one line
                self._place([opening + " {}"], indent, on_header + closing)
                self.last_line = span.end_line
                return
            self._place([opening + " {"], indent, on_header)
            self._place(["}"], indent, closing)
            self.last_line = span.end_line
            return
        self._place([opening + " {"], indent, on_header)
        inner = indent + INDENT
        for child in children:
            if isinstance(child, ast.Stage):
                self.body(child, f"stage {child.name.text}", child.settings, inner)
            elif isinstance(child, ast.Sweep):
                self.body(child, "sweep", child.body, inner)
            elif isinstance(child, ast.Objective):
                self.emit(child, [f"objective = {_objective(child.text)}"], inner)
            else:
                self.emit(child, _statement(child, inner), inner)  # type: ignore[arg-type]
        self._leading(span.end, inner)
        self._place(["}"], indent, self._on_lines(span.end_line))
        self.last_line = span.end_line


def format_module(module: ast.Module) -> str:
    """Canonical text of a module; idempotent, and keeps every comment.

    >>> from netspec.lang.parser import parse
    >>> print(format_module(parse("network n{input x:[4] # features\\n y=x->relu}")), end="")
    network n {
        input x: [4]  # features
        y = x -> relu
    }
    """
    p = _Printer(module)
    previous: type | None = None
    for item in module.items:
        compact = isinstance(item, (ast.Use, ast.Let)) and previous is type(item)
        if p.lines and not compact:
            p.lines.append("")
        if isinstance(item, ast.Use):
            p.emit(item, [f"use {format_expr(item.path)}"], "", in_body=False)
        elif isinstance(item, ast.Let):
            p.emit(item, _statement(item, ""), "", in_body=False)
        elif isinstance(item, ast.Network):
            p.body(item, f"network {item.name.text}", item.body, "")
        elif isinstance(item, ast.Block):
            params = ", ".join(
                x.name.text + (f"={format_expr(x.default)}" if x.default is not None else "")
                for x in item.params
            )
            p.body(item, f"block {item.name.text}({params})", item.body, "")
        elif isinstance(item, ast.Train):
            p.body(item, f"train {item.network.text}", item.body, "")
        previous = type(item)
    p._leading(10**12, "")
    return "\n".join(p.lines) + "\n" if p.lines else ""
