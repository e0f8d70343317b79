"""Gather a root module and the files it `use`s into one program: lets, blocks, networks, trains."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netspec.build.paths import Confinement
from netspec.diagnostics.core import Diagnostic, NetspecError, error
from netspec.lang import ast
from netspec.lang.parser import parse
from netspec.lang.source import Sources, Span
from netspec.units import REGISTRY

Reader = Callable[[str], str]  # path -> text; raises OSError


@dataclass
class Program:
    root: ast.Module
    lets: dict[str, ast.Let] = field(default_factory=dict)
    blocks: dict[str, ast.Block] = field(default_factory=dict)
    networks: dict[str, ast.Network] = field(default_factory=dict)
    trains: list[ast.Train] = field(default_factory=list)


def gather(
    root: ast.Module,
    sources: Sources,
    diags: list[Diagnostic],
    read: Reader | None = None,
    allow_paths: Sequence[str | Path] = (),
) -> Program:
    """Resolve `use` imports (relative to the importing file, confined to the root's folder and
    `allow_paths`) and index every named item."""
    program = Program(root)
    confinement = Confinement.of(root.file, allow_paths)
    _Gatherer(program, sources, diags, read or _read_file, confinement).visit(root, stack=())
    program.trains = [item for item in root.items if isinstance(item, ast.Train)]
    return program


def _read_file(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


class _Gatherer:
    def __init__(
        self,
        program: Program,
        sources: Sources,
        diags: list[Diagnostic],
        read: Reader,
        confinement: Confinement,
    ):
        self.program = program
        self.sources = sources
        self.diags = diags
        self.read = read
        self.confinement = confinement
        self.seen: set[str] = set()
        self.where: dict[str, Span] = {}

    def visit(self, module: ast.Module, stack: tuple[str, ...]) -> None:
        self.seen.add(module.file)
        for item in module.items:
            if isinstance(item, ast.Use):
                self._use(module, item, (*stack, module.file))
            elif isinstance(item, ast.Let):
                self._define(self.program.lets, item.name, item)
            elif isinstance(item, ast.Block):
                if item.name.text in REGISTRY:
                    self.diags.append(
                        error(
                            "E210",
                            f"block `{item.name.text}` has the name of a built-in unit kind",
                            item.name.span,
                            "already a unit kind",
                            help="rename the block",
                        )
                    )
                    continue
                self._define(self.program.blocks, item.name, item)
            elif isinstance(item, ast.Network):
                self._define(self.program.networks, item.name, item)

    def _define(self, table: dict, name: ast.Ident, item: object) -> None:  # type: ignore[type-arg]
        key = name.text
        others = (self.program.lets, self.program.blocks, self.program.networks)
        if any(key in t for t in others):
            self.diags.append(
                error(
                    "E210",
                    f"`{key}` is defined twice",
                    name.span,
                    "defined again here",
                    secondary=[(self.where[key], "first defined here")],
                    help="give each network, block and top-level `let` its own name",
                )
            )
            return
        table[key] = item
        self.where[key] = name.span

    def _use(self, module: ast.Module, item: ast.Use, stack: tuple[str, ...]) -> None:
        raw = item.path.value
        path = self.confinement.locate(raw, module.file)
        if not raw.endswith(".net"):  # refused unread, so no line of it is ever quoted
            self.diags.append(
                error(
                    "E112",
                    f"`use` imports only `.net` files, not `{raw}`",
                    item.path.span,
                    "not a .net file",
                    help="name a spec file ending in `.net`; data files belong in a `train` "
                    "section's `data = ...`",
                )
            )
            return
        refusal = self.confinement.refusal(raw, path, item.path.span, "`use` path")
        if refusal is not None:
            self.diags.append(refusal)
            return
        if path in stack:
            chain = " -> ".join((*stack[stack.index(path) :], path))
            self.diags.append(
                error(
                    "E209", f"`use` imports form a cycle: {chain}", item.span, "imported again here"
                )
            )
            return
        if path in self.seen:
            return
        try:
            text = self.read(path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.diags.append(
                error(
                    "E209",
                    f"cannot read `{path}`: {reason}",
                    item.path.span,
                    "imported here",
                    help="paths are relative to the importing file",
                )
            )
            return
        self.sources.add(path, text)
        try:
            imported = parse(text, path)
        except NetspecError as exc:
            self.diags.extend(exc.diagnostics)
            return
        self.visit(imported, stack)
