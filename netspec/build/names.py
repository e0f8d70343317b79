"""Resolve tensor names on first use, in any order, and report names that cannot be resolved."""

from __future__ import annotations

from collections.abc import Callable

from netspec.build.scope import BuildState, Scope
from netspec.build.text import closest, listing
from netspec.build.values import describe
from netspec.diagnostics.core import did_you_mean, error
from netspec.ir import Role
from netspec.lang import ast
from netspec.lang.source import Span
from netspec.units import REGISTRY

# Builds an assignment's value into the scope; the span is where its name was first used.
AssignFn = Callable[[ast.Assign, Scope, Span | None], None]


class Resolver:
    """Tensor names of a scope; a name assigned later in the body is built when first used."""

    def __init__(self, state: BuildState, assign: AssignFn) -> None:
        self.state = state
        self.diags = state.diags
        self.assign = assign

    def resolve(self, name: str, span: Span, scope: Scope) -> str | None:
        """The node id `name` stands for, or None once its failure has been reported."""
        if name in scope.bound:
            return scope.bound[name]
        stmt = scope.defs.get(name)
        if stmt is not None:
            if scope.is_visiting(stmt):
                self._cycle(stmt, scope, span)
                return None
            self.assign(stmt, scope, span)
            return scope.bound.get(name)
        self._undefined(name, span, scope)
        scope.bound[name] = None
        return None

    def unknown_kind(self, ident: ast.Ident, scope: Scope | None = None) -> None:
        """Report a call of something that is neither a unit kind nor a block."""
        name = ident.text
        if scope is not None and scope.has_tensor(name):
            self.diags.append(
                error(
                    "E206",
                    f"`{name}` is a tensor, not a unit kind",
                    ident.span,
                    "cannot be called",
                    help=f"pass it as an input to a unit: `{name} -> dense(...)`",
                )
            )
            return
        kinds = list(REGISTRY) + list(self.state.program.blocks)
        self.diags.append(
            error(
                "E201",
                f"unknown unit kind `{name}`",
                ident.span,
                "not a unit kind",
                help=did_you_mean(name, kinds) or "`netspec explain units` lists the unit kinds",
            )
        )

    def _undefined(self, name: str, span: Span, scope: Scope) -> None:
        """Report a name that no input or assignment of the scope defines."""
        if scope.env.get(name) is not None:
            where = self._let_span(name, scope)
            self.diags.append(
                error(
                    "E214",
                    f"`{name}` is a value (a `let`), not a tensor",
                    span,
                    "not a tensor",
                    secondary=[(where, f"`{name}` is {describe(scope.env.get(name))} here")]
                    if where is not None
                    else [],
                    help=f"pass it as a parameter, e.g. `dense(x, {name})`",
                )
            )
        elif name in REGISTRY or name in self.state.program.blocks:
            self.diags.append(
                error(
                    "E407",
                    f"`{name}` needs an input",
                    span,
                    "no input",
                    help=f"chain an input into it: `x -> {name}`",
                )
            )
        else:
            self._unknown_name(name, span, scope)

    def _unknown_name(self, name: str, span: Span, scope: Scope) -> None:
        known = scope.tensor_names()
        close = closest(name, known)
        secondary = []
        if close is not None:
            where = self._definition(close, scope)
            if where is not None:
                secondary.append((where, f"`{close}` is defined here"))
        self.diags.append(
            error(
                "E202",
                f"unknown name `{name}`",
                span,
                "not defined",
                secondary=secondary,
                help=f"did you mean `{close}`?" if close else listing(known),
            )
        )

    def _cycle(self, stmt: ast.Assign, scope: Scope, span: Span) -> None:
        """Report the assignments that use each other, from `stmt` to the use at `span`."""
        start = next(i for i, s in enumerate(scope.visiting) if s is stmt)
        loop = scope.visiting[start:]
        uses = [*scope.used_at[start + 1 :], span]
        names = [s.targets[0].text for s in loop]
        if len(loop) == 1:
            message = f"`{names[0]}` uses itself"
        elif len(loop) == 2:
            message = f"`{names[0]}` and `{names[1]}` depend on each other"
        else:
            message = f"`{names[0]}` depends on itself: {' -> '.join([*names, names[0]])}"
        labels = [
            (use, f"`{names[i]}` uses `{names[(i + 1) % len(names)]}` here")
            for i, use in enumerate(uses)
            if use is not None
        ]
        primary, label = labels[-1]
        help = "a network cannot loop; for recurrence over a sequence use `rnn`, `lstm` or `gru`"
        if len(loop) == 1:
            help = (
                f"give the new value its own name, e.g. `{names[0]}2 = {names[0]} -> ...`, "
                "or use `rnn`, `lstm` or `gru` for recurrence"
            )
        self.diags.append(error("E204", message, primary, label, secondary=labels[:-1], help=help))
        for s in loop:
            for t in s.targets:
                scope.bound[t.text] = None

    def _definition(self, name: str, scope: Scope) -> Span | None:
        """Where a tensor name of the scope is defined."""
        stmt = scope.defs.get(name)
        if stmt is not None:
            return next(t.span for t in stmt.targets if t.text == name)
        node_id = scope.bound.get(name)
        graph = self.state.graph
        if node_id is not None and node_id in graph:
            node = graph.node(node_id)
            if node.role is Role.INPUT:
                return node.span
        return None

    def _let_span(self, name: str, scope: Scope) -> Span | None:
        let = scope.lets.get(name) or self.state.program.lets.get(name)
        return let.name.span if let is not None else None
