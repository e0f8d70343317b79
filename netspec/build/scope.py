"""What the parts of one network's build share: the graph being built and each body's scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from netspec.build.program import Program
from netspec.build.values import Env
from netspec.diagnostics.core import Diagnostic
from netspec.ir import Graph, Site
from netspec.lang import ast
from netspec.lang.source import Span

Ids = list[str]


@dataclass
class Scope:
    """Names visible in one network body or one block call."""

    env: Env
    prefix: str = ""
    sites: tuple[Site, ...] = ()
    defs: dict[str, ast.Assign] = field(default_factory=dict)
    bound: dict[str, str | None] = field(default_factory=dict)  # None: its definition failed
    visiting: list[ast.Assign] = field(default_factory=list)  # being built, outermost first
    used_at: list[Span | None] = field(default_factory=list)  # where each visited name was used
    visiting_ids: set[int] = field(default_factory=set)  # their ids: `in` on ASTs compares deeply
    blocks: tuple[str, ...] = ()  # blocks being expanded, to catch recursion
    lets: dict[str, ast.Let] = field(default_factory=dict)

    def enter(self, stmt: ast.Assign, used_at: Span | None) -> None:
        self.visiting.append(stmt)
        self.used_at.append(used_at)
        self.visiting_ids.add(id(stmt))

    def leave(self) -> None:
        self.visiting_ids.discard(id(self.visiting.pop()))
        self.used_at.pop()

    def is_visiting(self, stmt: ast.Assign) -> bool:
        return id(stmt) in self.visiting_ids

    def id_for(self, name: str) -> str:
        return self.prefix + name

    def tensor_names(self) -> set[str]:
        return set(self.bound) | set(self.defs)

    def has_tensor(self, name: str) -> bool:
        """`name in tensor_names()`, without building the set (once per error, on big specs)."""
        return name in self.bound or name in self.defs


@dataclass
class BuildState:
    """One network being built: its graph, the node ids taken and its block call sites."""

    program: Program
    top: Env  # the top-level lets, which block parameter defaults see too
    diags: list[Diagnostic]
    graph: Graph = field(default_factory=lambda: Graph(""))
    reserved: set[str] = field(default_factory=set)  # ids of the names written, and fresh ids
    suffixes: dict[str, int] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    journal: list[str] | None = None  # while a block call is recorded: the ids it reserves

    def reserve(self, node_id: str) -> None:
        self.reserved.add(node_id)
        if self.journal is not None:
            self.journal.append(node_id)

    def fresh(self, base: str) -> str:
        """An unused node id: `base`, else `base_2`, `base_3`, ..."""
        n = self.suffixes.get(base, 1)  # resume where the last id of this base left off
        candidate = base if n == 1 else f"{base}_{n}"
        while candidate in self.graph or candidate in self.reserved:
            n += 1
            candidate = f"{base}_{n}"
        self.suffixes[base] = n
        self.reserve(candidate)
        return candidate
