"""Go to definition: where the name at a position is defined (an input, an assignment, a `let`,
a block parameter, a block, a network), and the file a `use "..."` string names."""

from __future__ import annotations

from dataclasses import dataclass

from netspec.build.program import Program
from netspec.editor.analysis import used_path
from netspec.editor.positions import word_at
from netspec.lang import ast
from netspec.lang.source import Span


@dataclass(frozen=True)
class Target:
    """A definition: a character range in a file (0, 0 for a whole file)."""

    file: str
    start: int
    end: int


def definition(
    text: str, offset: int, module: ast.Module, program: Program | None = None
) -> Target | None:
    """The definition of what is at `offset` in `text`, whose parse is `module`; `program` (a
    compile's) also knows the blocks, lets and networks of the files `use`d.

    >>> from netspec.lang.parser import parse
    >>> text = "network n { input x: [4]  y = x -> dense(3) }"
    >>> definition(text, text.index("x ->"), parse(text, "a.net"))
    Target(file='a.net', start=18, end=19)
    """
    for use in module.items:
        if isinstance(use, ast.Use) and _holds(use.path.span, offset):
            return Target(used_path(use.path.value, module.file), 0, 0)
    found = word_at(text, offset)
    if found is None:
        return None
    word = found[0]
    item: ast.Item | None = next((i for i in module.items if _holds(i.span, offset)), None)
    if isinstance(item, ast.Train):  # `greedy = [h1]` names units of the trained network
        item = next((i for i in module.items if _is_network(i, item.network.text)), None)
    local = _local_names(item) if item is not None else {}
    span = local.get(word) or _top_names(module).get(word) or _program_names(program).get(word)
    return None if span is None else Target(span.file, span.start, span.end)


def _holds(span: Span, offset: int) -> bool:
    return span.start <= offset <= span.end


def _is_network(item: ast.Item, name: str) -> bool:
    return isinstance(item, ast.Network) and item.name.text == name


def _local_names(item: ast.Item) -> dict[str, Span]:
    """The names a network or block body defines (and a block's parameters), first one wins."""
    names: dict[str, Span] = {}
    idents: list[ast.Ident] = []
    if isinstance(item, ast.Block):
        idents += [p.name for p in item.params]
    if isinstance(item, (ast.Network, ast.Block)):
        for s in item.body:
            if isinstance(s, (ast.Input, ast.Let)):
                idents.append(s.name)
            elif isinstance(s, ast.Assign):
                idents += s.targets
            elif isinstance(s, ast.Loss) and s.name is not None:
                idents.append(s.name)
    for ident in idents:
        names.setdefault(ident.text, ident.span)
    return names


def _top_names(module: ast.Module) -> dict[str, Span]:
    names: dict[str, Span] = {}
    for item in module.items:
        if isinstance(item, (ast.Let, ast.Network, ast.Block)):
            names.setdefault(item.name.text, item.name.span)
    return names


def _program_names(program: Program | None) -> dict[str, Span]:
    if program is None:
        return {}
    tables = (program.lets, program.blocks, program.networks)
    return {name: item.name.span for table in tables for name, item in table.items()}
