"""Build each network's IR, a Graph of units with bound parameters, from its statements."""

from __future__ import annotations

from netspec.build.blocks import BlockExpander
from netspec.build.exprs import Expander
from netspec.build.input_types import input_type
from netspec.build.names import Resolver
from netspec.build.program import Program
from netspec.build.scope import BuildState, Ids, Scope
from netspec.build.text import example_names, last_call, misplaced_loss, source_text
from netspec.build.values import Env, evaluate
from netspec.diagnostics.core import Diagnostic, error
from netspec.ir import Graph, Node, Role
from netspec.lang import ast
from netspec.lang.collector import collector_paused
from netspec.lang.source import Span
from netspec.units import REGISTRY, UnitKind


def build(program: Program, env: Env, diags: list[Diagnostic]) -> dict[str, Graph]:
    """One Graph per network of the program, in source order."""
    with collector_paused():
        return {
            name: _NetworkBuilder(program, env, diags).network(net)
            for name, net in program.networks.items()
        }


def evaluate_lets(lets: list[ast.Let], env: Env, diags: list[Diagnostic]) -> None:
    """Evaluate `let`s in order into env, rejecting a name defined twice in the same scope."""
    spans: dict[str, Span] = {}
    for let in lets:
        key = let.name.text
        if key in spans:
            diags.append(_defined_twice(let.name, spans[key], "give each `let` its own name"))
            continue
        spans[key] = let.name.span
        if key in env.values:  # set from the command line: keep the override
            continue
        value = evaluate(let.value, env, diags)
        if value is not None:
            env.values[key] = value


class _NetworkBuilder:
    """Builds the statements of a network or block body; its parts build names, expressions
    and block calls, and call back here for the assignments and bodies they reach."""

    def __init__(self, program: Program, env: Env, diags: list[Diagnostic]) -> None:
        self.state = BuildState(program, env, diags)
        self.diags = diags
        self.names = Resolver(self.state, assign=self._assign)
        blocks = BlockExpander(self.state, self.names, body=self._body)
        self.exprs = Expander(self.state, self.names, blocks)

    def network(self, net: ast.Network) -> Graph:
        graph = self.state.graph = Graph(net.name.text, net.span)
        scope = Scope(Env(parent=self.state.top))
        self._body(net.body, scope, None)
        graph.names = {k: v for k, v in scope.bound.items() if v is not None}
        graph.sites = self.state.sites
        self._outputs(net.body, scope)
        return graph

    def _body(self, body: tuple[ast.Statement, ...], scope: Scope, block: ast.Block | None) -> None:
        """Declare a body's names, then build its assignments and losses in source order."""
        lets = [s for s in body if isinstance(s, ast.Let)]
        evaluate_lets(lets, scope.env, self.diags)
        for let in lets:
            scope.lets.setdefault(let.name.text, let)
        self._declare(body, scope, block)
        for stmt in body:
            if isinstance(stmt, ast.Assign) and scope.defs.get(stmt.targets[0].text) is stmt:
                self._assign(stmt, scope)
            elif isinstance(stmt, ast.Loss):
                if block is not None:
                    self.diags.append(_loss_in_block(stmt, block))
                else:
                    self._loss(stmt, scope)

    def _declare(
        self, body: tuple[ast.Statement, ...], scope: Scope, block: ast.Block | None
    ) -> None:
        """Record the names that inputs and assignments define; a network's inputs are built."""
        first: dict[str, Span] = {}
        for stmt in body:
            for ident in _defined_names(stmt):
                if ident.text in first:
                    help = "give each input and assigned value its own name"
                    self.diags.append(_defined_twice(ident, first[ident.text], help))
                    continue
                first[ident.text] = ident.span
                self.state.reserve(scope.id_for(ident.text))
                if isinstance(stmt, ast.Assign):
                    scope.defs[ident.text] = stmt
                elif block is None and isinstance(stmt, ast.Input):
                    self._input(stmt, scope)

    def _input(self, stmt: ast.Input, scope: Scope) -> None:
        name = stmt.name.text
        if stmt.type is None:
            self.diags.append(
                error(
                    "E215",
                    f"input `{name}` needs a type",
                    stmt.name.span,
                    "no type",
                    help=f"write `input {name}: [64]` or `input {name}: class(10)`",
                )
            )
            ttype = None
        else:
            ttype = input_type(stmt.type, scope.env, self.diags)
        if ttype is None:
            scope.bound[name] = None
            return
        node = Node(
            name, Role.INPUT, "input", stmt.span, name=name, value_span=stmt.span, type=ttype
        )
        self.state.graph.add(node)
        scope.bound[name] = node.id

    def _assign(self, stmt: ast.Assign, scope: Scope, used_at: Span | None = None) -> None:
        """Build the value and bind the names of an assignment, unless built or being built.

        A name used before its statement is built when first used, which would recurse once
        per statement on `h1 = h2 -> ...`, `h2 = h3 -> ...`, ... So the statements whose first
        step is to resolve such a name are found first and built deepest first, with the ones
        waiting for them marked as being built, just as the recursion would leave them."""
        if scope.is_visiting(stmt) or all(t.text in scope.bound for t in stmt.targets):
            return  # being built, or already built because an earlier statement used it
        waiting = self._first_needs(stmt, scope, used_at)
        for before, at in waiting[:-1]:
            scope.enter(before, at)
        for k in reversed(range(len(waiting))):
            if k < len(waiting) - 1:
                scope.leave()
            built, at = waiting[k]
            self._assign_one(built, scope, at)

    def _first_needs(
        self, stmt: ast.Assign, scope: Scope, used_at: Span | None
    ) -> list[tuple[ast.Assign, Span | None]]:
        """`stmt`, the unbuilt statement its build would build first, that one's, and so on;
        each with where its name is used."""
        found = [(stmt, used_at)]
        seen = {id(stmt)}
        while True:
            _, kind = _ending(found[-1][0].value)
            if kind is not None and kind.role == "loss":
                break  # refused before anything is resolved
            ref = self.exprs.first_ref(found[-1][0].value, scope)
            if ref is None or ref.name.text in scope.bound:
                break
            needed = scope.defs.get(ref.name.text)
            if needed is None or id(needed) in seen or scope.is_visiting(needed):
                break  # undefined, or a cycle: the build reports it
            found.append((needed, ref.span))
            seen.add(id(needed))
        return found

    def _assign_one(self, stmt: ast.Assign, scope: Scope, used_at: Span | None) -> None:
        if scope.is_visiting(stmt) or all(t.text in scope.bound for t in stmt.targets):
            return
        last, kind = _ending(stmt.value)
        if last is not None and kind is not None and kind.role == "loss":
            fix = f"loss {stmt.targets[0].text} = {source_text(stmt.value)}"
            label = "a loss in an assignment"
            self.diags.append(misplaced_loss(kind.name, last.callee.span, label, fix))
            for t in stmt.targets:
                scope.bound[t.text] = None
            return
        scope.enter(stmt, used_at)
        names = [t.text for t in stmt.targets]
        final = scope.id_for(names[0]) if len(names) == 1 else None
        ids = self.exprs.tensor(stmt.value, scope, hint=scope.id_for(names[0]), final=final)
        scope.leave()
        if ids is not None and len(ids) != len(names):
            self.diags.append(self._wrong_names(stmt, ids))
            ids = None
        for i, name in enumerate(names):
            node_id = ids[i] if ids else None
            scope.bound[name] = node_id
            if node_id is not None and node_id == scope.id_for(name):
                node = self.state.graph.node(node_id)
                node.name, node.value_span = name, stmt.value.span

    def _wrong_names(self, stmt: ast.Assign, ids: Ids) -> Diagnostic:
        """More or fewer names than the value of an assignment gives."""
        names = [t.text for t in stmt.targets]
        targets = stmt.targets[0].span.cover(stmt.targets[-1].span)
        n = len(ids)
        if n == 1:
            hint = f"assign it to one name: `{names[0]} = ...`"
        else:
            given = [self.state.graph.node(i).label for i in ids]
            if len(set(given)) != n or any("." in g or ":" in g for g in given):
                given = example_names(names, n)
            hint = f"write {n} names: `{', '.join(given)} = {source_text(stmt.value)}`"
        plural = "s" * (len(names) > 1)
        return error(
            "E205",
            f"{len(names)} name{plural}, but the value gives {n}",
            stmt.value.span,
            f"gives {n} value{'s' * (n != 1)}",
            secondary=[(targets, f"{len(names)} name{plural}")],
            help=hint
            + ("" if n > 1 else "; only a block with several `output`s gives several values"),
        )

    def _loss(self, stmt: ast.Loss, scope: Scope) -> None:
        last, kind = _ending(stmt.value)
        if kind is None or kind.role != "loss":
            self._not_a_loss(stmt, last)
            return
        base = stmt.name.text if stmt.name else kind.name
        final = self.state.fresh(f"loss:{base}")
        self.exprs.tensor(stmt.value, scope, hint=base, final=final)
        if final in self.state.graph:
            self.state.graph.node(final).name = stmt.name.text if stmt.name else None

    def _not_a_loss(self, stmt: ast.Loss, last: ast.Call | None) -> None:
        if (
            last is not None
            and last.callee.text not in REGISTRY
            and last.callee.text not in self.state.program.blocks
        ):
            self.names.unknown_kind(last.callee)
            return
        what = f"`{last.callee.text}`" if last is not None else "this"
        losses = ", ".join(f"`{k.name}`" for k in REGISTRY.values() if k.role == "loss")
        value = source_text(stmt.value)
        self.diags.append(
            error(
                "E206",
                f"{what} is not a loss, but a `loss` statement must end in one",
                last.span if last is not None else stmt.value.span,
                "not a loss kind",
                help=f"the loss kinds are {losses}; compare the prediction with a target, "
                f"as in `loss cross_entropy({value}, target)`",
            )
        )

    def _outputs(self, body: tuple[ast.Statement, ...], scope: Scope) -> None:
        """Output nodes for the names stated, else for the losses' predictions or loose ends."""
        graph = self.state.graph
        stated = [s for s in body if isinstance(s, ast.Output)]
        wanted: list[tuple[str, str | None, Span]] = []
        for stmt in stated:
            for ident in stmt.names:
                node_id = self.names.resolve(ident.text, ident.span, scope)
                wanted.append((ident.text, node_id, ident.span))
        if not stated:  # the predictions of the losses, else every unit nobody uses
            losses = list(graph.nodes(Role.LOSS))
            sources = [graph.inputs_of(n.id)[0] for n in losses] or [
                n.id for n in graph.nodes(Role.UNIT) if not graph.users_of(n.id)
            ]
            for src in dict.fromkeys(sources):
                node = graph.node(src)
                wanted.append((node.label, src, node.span))
        for name, source, span in wanted:
            if source is not None and f"output:{name}" not in graph:
                node = Node(f"output:{name}", Role.OUTPUT, "output", span, name=name)
                graph.add(node, [source])


def _defined_names(stmt: ast.Statement) -> tuple[ast.Ident, ...]:
    if isinstance(stmt, ast.Input):
        return (stmt.name,)
    return stmt.targets if isinstance(stmt, ast.Assign) else ()


def _ending(expr: ast.Expr) -> tuple[ast.Call | None, UnitKind | None]:
    """The call an expression ends in, and the unit kind it names."""
    last = last_call(expr)
    return last, REGISTRY.get(last.callee.text) if last is not None else None


def _defined_twice(ident: ast.Ident, first: Span, help: str) -> Diagnostic:
    return error(
        "E203",
        f"`{ident.text}` is defined twice",
        ident.span,
        "defined again here",
        secondary=[(first, "first defined here")],
        help=help,
    )


def _loss_in_block(stmt: ast.Loss, block: ast.Block) -> Diagnostic:
    span = stmt.span
    keyword = Span(
        span.file, span.start, span.start + 4, span.line, span.col, span.line, span.col + 4
    )
    return error(
        "E206",
        "a block cannot hold a `loss`",
        keyword,
        "not allowed in a block",
        secondary=[(block.name.span, f"in block `{block.name.text}`")],
        help="give the prediction back with `output` and write the `loss` in "
        "the network that calls the block",
    )
