"""Build the IR of each network: expand chains, repetitions and block calls into a Graph of
units with bound parameters, resolving names (in any order) and reporting E2xx/E4xx errors."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from netspec import ast
from netspec.diagnostics import Diagnostic, Label, did_you_mean, error
from netspec.ir import Graph, Node, Role, Site
from netspec.program import Program
from netspec.source import Span
from netspec.types import Dim, TensorType
from netspec.units import REGISTRY, ParamSpec, UnitKind
from netspec.values import Env, Symbol, bind, describe, evaluate

Ids = list[str]
MAX_REPEAT = 1_000  # copies one `* n` may make; more is a typo, and would take minutes to build
_LABEL_TYPES = ("real", "class", "binary")


@dataclass
class _Scope:
    """Names visible in one network body or one block call."""

    env: Env
    prefix: str = ""
    sites: tuple[Site, ...] = ()
    defs: dict[str, ast.Assign] = field(default_factory=dict)
    bound: dict[str, str | None] = field(default_factory=dict)  # None: its definition failed
    visiting: list[ast.Assign] = field(default_factory=list)
    used_at: list[Span | None] = field(default_factory=list)  # where each visited name was used
    blocks: tuple[str, ...] = ()  # blocks being expanded, to catch recursion
    lets: dict[str, ast.Let] = field(default_factory=dict)

    def id_for(self, name: str) -> str:
        return self.prefix + name

    def tensor_names(self) -> set[str]:
        return set(self.bound) | set(self.defs)


def build(program: Program, env: Env, diags: list[Diagnostic]) -> dict[str, Graph]:
    """One Graph per network of the program, in source order."""
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
            diags.append(
                error(
                    "E203",
                    f"`{key}` is defined twice",
                    let.name.span,
                    "defined again here",
                    secondary=[(spans[key], "first defined here")],
                    help="give each `let` its own name",
                )
            )
            continue
        spans[key] = let.name.span
        if key in env.values:  # set from the command line: keep the override
            continue
        value = evaluate(let.value, env, diags)
        if value is not None:
            env.values[key] = value


class _NetworkBuilder:
    def __init__(self, program: Program, env: Env, diags: list[Diagnostic]) -> None:
        self.program = program
        self.top = env
        self.diags = diags
        self.graph = Graph("")
        self.reserved: set[str] = set()
        self.suffixes: dict[str, int] = {}
        self.sites: dict[str, Site] = {}

    def network(self, net: ast.Network) -> Graph:
        self.graph = Graph(net.name.text, net.span)
        scope = _Scope(Env(parent=self.top))
        self._body(net.body, scope, block=None)
        self.graph.names = {k: v for k, v in scope.bound.items() if v is not None}
        self.graph.sites = self.sites  # type: ignore[attr-defined]
        self._outputs(net.body, scope)
        return self.graph

    # --- bodies -------------------------------------------------------------------------------
    def _body(
        self, body: tuple[ast.Statement, ...], scope: _Scope, block: ast.Block | None
    ) -> None:
        lets = [s for s in body if isinstance(s, ast.Let)]
        evaluate_lets(lets, scope.env, self.diags)
        for let in lets:
            scope.lets.setdefault(let.name.text, let)
        first: dict[str, Span] = {}
        for stmt in body:
            names = (
                (stmt.name,)
                if isinstance(stmt, ast.Input)
                else (stmt.targets if isinstance(stmt, ast.Assign) else ())
            )
            for ident in names:
                if ident.text in first:
                    self.diags.append(
                        error(
                            "E203",
                            f"`{ident.text}` is defined twice",
                            ident.span,
                            "defined again here",
                            secondary=[(first[ident.text], "first defined here")],
                            help="give each input and assigned value its own name",
                        )
                    )
                    continue
                first[ident.text] = ident.span
                self.reserved.add(scope.id_for(ident.text))
                if isinstance(stmt, ast.Assign):
                    scope.defs[ident.text] = stmt
                elif block is None:
                    self._input(stmt, scope)  # type: ignore[arg-type]
        for stmt in body:
            if (
                isinstance(stmt, ast.Assign)
                and stmt.targets[0].text in scope.defs
                and scope.defs[stmt.targets[0].text] is stmt
            ):
                self._assign(stmt, scope)
            elif isinstance(stmt, ast.Loss):
                if block is not None:
                    keyword = Span(
                        stmt.span.file,
                        stmt.span.start,
                        stmt.span.start + 4,
                        stmt.span.line,
                        stmt.span.col,
                        stmt.span.line,
                        stmt.span.col + 4,
                    )
                    self.diags.append(
                        error(
                            "E206",
                            "a block cannot hold a `loss`",
                            keyword,
                            "not allowed in a block",
                            secondary=[(block.name.span, f"in block `{block.name.text}`")],
                            help="give the prediction back with `output` and write the `loss` in "
                            "the network that calls the block",
                        )
                    )
                else:
                    self._loss(stmt, scope)

    def _input(self, stmt: ast.Input, scope: _Scope) -> None:
        if stmt.type is None:
            name = stmt.name.text
            self.diags.append(
                error(
                    "E215",
                    f"input `{name}` needs a type",
                    stmt.name.span,
                    "no type",
                    help=f"write `input {name}: [64]` or `input {name}: class(10)`",
                )
            )
            scope.bound[stmt.name.text] = None
            return
        ttype = self._input_type(stmt.type, scope.env)
        if ttype is None:
            scope.bound[stmt.name.text] = None
            return
        node = Node(
            stmt.name.text,
            Role.INPUT,
            "input",
            stmt.span,
            name=stmt.name.text,
            value_span=stmt.span,
            type=ttype,
        )
        self.graph.add(node)
        scope.bound[stmt.name.text] = node.id

    def _input_type(self, t: ast.InputType, env: Env) -> TensorType | None:
        kind = t.kind.text
        if kind not in _LABEL_TYPES:
            self.diags.append(
                error(
                    "E215",
                    f"unknown input type `{kind}`",
                    t.kind.span,
                    "unknown type",
                    help=did_you_mean(kind, _LABEL_TYPES)
                    or "types are a shape like [64], class(N), binary and real",
                )
            )
            return None
        dims: list[Dim] = []
        for item in t.shape.items if t.shape else ():
            value = evaluate(item, env, self.diags)
            if isinstance(value, Symbol):
                dims.append(str(value))  # a symbolic size such as T
            elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
                dims.append(value)
            else:
                self.diags.append(
                    error(
                        "E404",
                        f"a size must be a positive integer or a name, not {describe(value)}",
                        item.span,
                        "not a size",
                    )
                )
                return None
        if kind == "real" and t.shape is None and not t.args:
            return TensorType(())
        classes = None
        if kind == "class":
            specs = (ParamSpec("n", "int", "number of classes"),)
            bound = self._bind("class", specs, t.args, env, t.span)
            if bound is None:
                return None
            classes = bound["n"]
            if classes < 2:
                self.diags.append(
                    error(
                        "E215",
                        f"`class` needs at least 2 classes, got {classes}",
                        t.args[0].span,
                        "too few classes",
                        help="a single yes/no label is `binary`; class labels need `class(2)` "
                        "or more",
                    )
                )
                return None
        elif t.args:
            self.diags.append(
                error("E405", f"`{kind}` takes no arguments", t.args[0].span, "unexpected argument")
            )
            return None
        return TensorType(tuple(dims), kind, classes)

    def _assign(self, stmt: ast.Assign, scope: _Scope, used_at: Span | None = None) -> None:
        if stmt in scope.visiting or all(t.text in scope.bound for t in stmt.targets):
            return  # being built, or already built because an earlier statement used it
        last = _last_call(stmt.value)
        kind = REGISTRY.get(last.callee.text) if last is not None else None
        if last is not None and kind is not None and kind.role == "loss":
            fix = f"loss {stmt.targets[0].text} = {_source_text(stmt.value)}"
            self.diags.append(
                error(
                    "E206",
                    f"`{kind.name}` is a loss and can only end a `loss` statement",
                    last.callee.span,
                    "a loss in an assignment",
                    help=f"write a loss statement: `{fix}`",
                )
            )
            for t in stmt.targets:
                scope.bound[t.text] = None
            return
        scope.visiting.append(stmt)
        scope.used_at.append(used_at)
        names = [t.text for t in stmt.targets]
        single = len(names) == 1
        final = scope.id_for(names[0]) if single else None
        ids = self._tensor(stmt.value, scope, hint=scope.id_for(names[0]), final=final)
        scope.visiting.pop()
        scope.used_at.pop()
        if ids is not None and len(ids) != len(names):
            targets = stmt.targets[0].span.cover(stmt.targets[-1].span)
            n = len(ids)
            if n == 1:
                hint = f"assign it to one name: `{names[0]} = ...`"
            else:
                given = [self.graph.node(i).label for i in ids]
                if len(set(given)) != n or any("." in g or ":" in g for g in given):
                    given = _example_names(names, n)
                hint = f"write {n} names: `{', '.join(given)} = {_source_text(stmt.value)}`"
            self.diags.append(
                error(
                    "E205",
                    f"{len(names)} name{'s' * (len(names) > 1)}, but the value gives {n}",
                    stmt.value.span,
                    f"gives {n} value{'s' * (n != 1)}",
                    secondary=[(targets, f"{len(names)} name{'s' * (len(names) > 1)}")],
                    help=hint
                    + (
                        ""
                        if n > 1
                        else "; only a block with several `output`s gives several values"
                    ),
                )
            )
            ids = None
        for i, name in enumerate(names):
            node_id = ids[i] if ids else None
            scope.bound[name] = node_id
            if node_id is not None and node_id == scope.id_for(name):
                node = self.graph.node(node_id)
                node.name, node.value_span = name, stmt.value.span

    def _loss(self, stmt: ast.Loss, scope: _Scope) -> None:
        last = _last_call(stmt.value)
        kind = REGISTRY.get(last.callee.text) if last is not None else None
        if kind is None or kind.role != "loss":
            what = f"`{last.callee.text}`" if last is not None else "this"
            losses = ", ".join(f"`{k.name}`" for k in REGISTRY.values() if k.role == "loss")
            if (
                last is not None
                and last.callee.text not in REGISTRY
                and last.callee.text not in self.program.blocks
            ):
                self._unknown_kind(last.callee)
                return
            span = last.span if last is not None else stmt.value.span
            value = _source_text(stmt.value)
            self.diags.append(
                error(
                    "E206",
                    f"{what} is not a loss, but a `loss` statement must end in one",
                    span,
                    "not a loss kind",
                    help=f"the loss kinds are {losses}; compare the prediction with a target, "
                    f"as in `loss cross_entropy({value}, target)`",
                )
            )
            return
        base = stmt.name.text if stmt.name else kind.name
        final = self._fresh(f"loss:{base}")
        self._tensor(stmt.value, scope, hint=base, final=final)
        if final in self.graph:
            self.graph.node(final).name = stmt.name.text if stmt.name else None

    def _outputs(self, body: tuple[ast.Statement, ...], scope: _Scope) -> None:
        stated = [s for s in body if isinstance(s, ast.Output)]
        wanted: list[tuple[str, str | None, Span]] = []
        for stmt in stated:
            for ident in stmt.names:
                node_id = self._resolve(ident.text, ident.span, scope)
                wanted.append((ident.text, node_id, ident.span))
        if not stated:  # the predictions of the losses, else every unit nobody uses
            losses = list(self.graph.nodes(Role.LOSS))
            sources = [self.graph.inputs_of(n.id)[0] for n in losses] or [
                n.id for n in self.graph.nodes(Role.UNIT) if not self.graph.users_of(n.id)
            ]
            for src in dict.fromkeys(sources):
                node = self.graph.node(src)
                wanted.append((node.label, src, node.span))
        for name, source, span in wanted:
            if source is not None and f"output:{name}" not in self.graph:
                node = Node(f"output:{name}", Role.OUTPUT, "output", span, name=name)
                self.graph.add(node, [source])

    # --- expressions --------------------------------------------------------------------------
    def _tensor(self, expr: ast.Expr, scope: _Scope, hint: str, final: str | None) -> Ids | None:
        if isinstance(expr, ast.Ref):
            node_id = self._resolve(expr.name.text, expr.span, scope)
            return [node_id] if node_id is not None else None
        if isinstance(expr, ast.Call):
            return self._apply(expr, None, scope, hint, final, chained=False)
        if isinstance(expr, ast.Chain):
            ids = self._tensor(expr.head, scope, hint, None)
            prev: ast.Call | ast.Ref = expr.head
            for i, link in enumerate(expr.links):
                is_last = i == len(expr.links) - 1
                left = ast.Chain(expr.head, expr.links[:i]) if i else expr.head
                ids = self._link(link, ids, scope, hint, final if is_last else None, prev, left)
                prev = _last_link(link)
            return ids
        found = describe(_literal(expr))
        self.diags.append(
            error(
                "E214",
                f"expected a tensor here, but found {found}",
                expr.span,
                "not a tensor",
                help="name an input or a unit's result, or write a unit call",
            )
        )
        return None

    def _link(
        self,
        link: ast.Link,
        ids: Ids | None,
        scope: _Scope,
        hint: str,
        final: str | None,
        prev: ast.Call | ast.Ref,
        left: ast.Expr | None = None,
    ) -> Ids | None:
        if isinstance(link, ast.Repeat):
            count = self._count(link.count, scope)
            if count is None:
                return None
            for r in range(count):
                for j, inner in enumerate(link.links):
                    is_last = r == count - 1 and j == len(link.links) - 1
                    ids = self._link(
                        inner, ids, scope, hint, final if is_last else None, prev, left
                    )
                    prev = _last_link(inner)
            return ids
        call = link if isinstance(link, ast.Call) else ast.Call(link.name, (), link.span)
        if ids is not None and len(ids) != 1:
            names = ", ".join(_example_names([], len(ids)))
            self.diags.append(
                error(
                    "E205",
                    f"`->` passes one value, but the left side gives {len(ids)}",
                    call.span,
                    "receives several values",
                    secondary=[(prev.span, f"gives {len(ids)} values")],
                    help=f"name the values first (`{names} = {_source_text(left or prev)}`) and "
                    "pass one of them on",
                )
            )
            ids = None
        return self._apply(call, ids, scope, hint, final, chained=True, piped_from=prev)

    def _count(self, expr: ast.Number | ast.Ref, scope: _Scope) -> int | None:
        value = evaluate(expr, scope.env, self.diags)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REPEAT:
            return value
        if isinstance(value, int) and value > MAX_REPEAT:
            self.diags.append(
                error(
                    "E404",
                    f"a repetition count must be at most {MAX_REPEAT:,}, not {value:,}",
                    expr.span,
                    "too many copies",
                )
            )
            return None
        hint = did_you_mean(str(value), scope.env.names()) if isinstance(value, Symbol) else None
        if hint is None and isinstance(value, int) and value < 1:
            hint = "repeat at least once (`* 1`), or remove the repetition"
        self.diags.append(
            error(
                "E404",
                f"a repetition count must be a positive integer, not {describe(value)}",
                expr.span,
                "not a count",
                help=hint,
            )
        )
        return None

    def _apply(
        self,
        call: ast.Call,
        piped: Ids | None,
        scope: _Scope,
        hint: str,
        final: str | None,
        chained: bool,
        piped_from: ast.Call | ast.Ref | None = None,
    ) -> Ids | None:
        """A unit or block call; in a chain, `piped` (the left side) is its first input."""
        name = call.callee.text
        kind = REGISTRY.get(name)
        block = self.program.blocks.get(name)
        if kind is None and block is None:
            self._unknown_kind(call.callee, scope)
            return None
        if kind is not None and kind.role == "loss" and not (final or "").startswith("loss:"):
            self.diags.append(
                error(
                    "E206",
                    f"`{name}` is a loss and can only end a `loss` statement",
                    call.callee.span,
                    "a loss used as a unit",
                    help=f"write a loss statement: `loss {_source_text(call)}`",
                )
            )
            return None
        n_inputs = len(kind.signature.inputs) if kind else _block_inputs(block)  # type: ignore[arg-type]
        variadic = kind.signature.variadic if kind else False
        positional = [a for a in call.args if a.name is None]
        keyword = [a for a in call.args if a.name is not None]
        have = 1 if chained else 0
        take = len(positional) if variadic else max(n_inputs - have, 0)
        tensor_args, value_args = positional[:take], positional[take:]
        if not self._enough_inputs(name, call, n_inputs, variadic, have, tensor_args):
            return None
        inputs: list[str | None] = list(piped) if piped is not None else [None] * have
        written = ([_source_text(piped_from)] if piped_from is not None else [""] * have) + [
            _source_text(a.value) for a in tensor_args
        ]
        for arg in tensor_args:
            got = self._tensor(arg.value, scope, hint, None)
            if got is not None and len(got) != 1:
                self.diags.append(
                    error(
                        "E205",
                        f"an input of `{name}` must be one value, but got {len(got)}",
                        arg.span,
                        "several values",
                        help="name the values (`a, b = ...`) and pass one of them",
                    )
                )
                got = None
            inputs.append(got[0] if got else None)
        specs = kind.signature.params if kind else _block_params(block)  # type: ignore[arg-type]
        params = self._bind(
            name, specs, tuple(value_args) + tuple(keyword), scope.env, call.span, call=call
        )
        if params is None or any(i is None for i in inputs) or (chained and piped is None):
            return None
        ids = [i for i in inputs if i is not None]
        if kind is not None:
            node_id = final or self._fresh(f"{hint}.{name}")
            self._unit(kind, call, ids, params, scope, node_id).meta["written"] = tuple(written)
            return [node_id]
        site_id = final or self._fresh(f"{hint}.{name}")
        return self._expand(block, ids, params, site_id, call.span, scope)  # type: ignore[arg-type]

    def _enough_inputs(
        self,
        name: str,
        call: ast.Call,
        n_inputs: int,
        variadic: bool,
        have: int,
        tensor_args: list[ast.Arg],
    ) -> bool:
        count = have + len(tensor_args)
        kind = REGISTRY.get(name)
        if count >= n_inputs if variadic else count == n_inputs:
            position = next((i for i, a in enumerate(tensor_args) if _is_literal(a.value)), None)
            if position is None:
                return True
            literal = tensor_args[position]
            found = describe(_literal(literal.value))
            if not variadic and have + position > 0:
                inputs = kind.signature.inputs if kind is not None else ()
                what = (
                    f"`{inputs[have + position]}`"
                    if have + position < len(inputs)
                    else f"input {have + position + 1}"
                )
                self.diags.append(
                    error(
                        "E214",
                        f"`{name}` takes a tensor as {what}, but got {found}",
                        literal.span,
                        "not a tensor",
                        help="pass an input or the name of a unit's result",
                    )
                )
                return False
            if variadic:
                self.diags.append(
                    error(
                        "E214",
                        f"`{name}` joins tensors, but got {found}",
                        literal.span,
                        "not a tensor",
                        help="pass inputs or the names of units' results, as in `add(x, h)`",
                    )
                )
                return False
            self.diags.append(
                error(
                    "E407",
                    f"`{name}` needs an input tensor first, but got {found}",
                    literal.span,
                    "expected an input tensor here",
                    help=f"chain an input into it, `x -> {_source_text(call)}`, or pass it first: "
                    f"`{_with_first_arg(call, 'x')}`",
                )
            )
            return False
        want = f"at least {n_inputs}" if variadic else str(n_inputs)
        plural = "s" if n_inputs != 1 else ""
        named = ""
        if kind is not None and not variadic:
            named = " (" + ", ".join(f"`{i}`" for i in kind.signature.inputs) + ")"
        if variadic:
            help = f"give it the branches to join, as in `{name}(x, h)`"
        elif count < n_inputs and kind is not None and not have:
            names = [_source_text(a.value) for a in tensor_args]
            names += list(kind.signature.inputs[len(names) :])
            help = f"pass its inputs first: `{name}({', '.join(names)})`"
        elif count < n_inputs:
            help = f"chain an input into it (`x -> {name}(...)`) or pass the inputs first"
        elif have:
            help = "the left side of `->` is already the first input; pass only the others"
        else:
            help = None
        self.diags.append(
            error(
                "E407",
                f"`{name}` takes {want} input{plural}{named}, but got {count}",
                call.span,
                f"{count} input{'s' * (count != 1)}",
                help=help,
            )
        )
        return False

    def _bind(
        self,
        owner: str,
        specs: tuple[ParamSpec, ...],
        args: tuple[ast.Arg, ...],
        env: Env,
        span: Span,
        call: ast.Call | None = None,
    ) -> dict[str, Any] | None:
        positional = [a for a in args if a.name is None]
        keyword = [a for a in args if a.name is not None]
        return bind(owner, specs, positional, keyword, env, self.diags, span, call=call)

    def _unit(
        self,
        kind: UnitKind,
        call: ast.Call,
        inputs: list[str],
        params: dict[str, Any],
        scope: _Scope,
        node_id: str,
    ) -> Node:
        role = Role.LOSS if kind.role == "loss" else Role.UNIT
        node = Node(node_id, role, kind.name, call.span, params, scope=scope.sites)
        return self.graph.add(node, inputs)

    def _expand(
        self,
        block: ast.Block,
        inputs: list[str],
        params: dict[str, Any],
        site_id: str,
        span: Span,
        caller: _Scope,
    ) -> Ids | None:
        name = block.name.text
        if name in caller.blocks:
            path = " -> ".join((*caller.blocks, name))
            self.diags.append(
                error(
                    "E204",
                    f"block `{name}` calls itself: {path}",
                    span,
                    "recursive call",
                    secondary=[(block.name.span, f"block `{name}` is defined here")],
                    help=f"blocks cannot recurse; to stack several, repeat the call where it is "
                    f"used: `x -> {name}(...) * 3`",
                )
            )
            return None
        site = Site(name, site_id, span)
        self.sites[site_id] = site
        values: dict[str, Any] = {}
        for key, value in params.items():  # defaults see the top-level lets and earlier params
            if isinstance(value, _DeferredDefault):
                value = evaluate(value.expr, Env(values, parent=self.top), self.diags)
                if value is None:
                    return None
            values[key] = value
        scope = _Scope(
            Env(values, parent=self.top),
            prefix=site_id + ".",
            sites=(*caller.sites, site),
            blocks=(*caller.blocks, name),
        )
        block_inputs = [s for s in block.body if isinstance(s, ast.Input)]
        for stmt, node_id in zip(block_inputs, inputs, strict=False):
            if stmt.type is not None:
                self.diags.append(
                    error(
                        "E216",
                        f"block input `{stmt.name.text}` cannot declare a type",
                        stmt.type.span,
                        "the call site gives its shape",
                        help=f"write `input {stmt.name.text}`",
                    )
                )
            scope.bound[stmt.name.text] = node_id
        first_new = len(self.diags)
        self._body(block.body, scope, block=block)
        self._add_call_site(first_new, site, block)
        outputs = [i for s in block.body if isinstance(s, ast.Output) for i in s.names]
        if not outputs:
            assigned = [s.targets[-1].text for s in block.body if isinstance(s, ast.Assign)]
            last = assigned[-1] if assigned else "name"
            self.diags.append(
                error(
                    "E211",
                    f"block `{name}` has no `output`",
                    block.name.span,
                    "gives nothing back",
                    help=f"end the block with `output {last}`",
                )
            )
            return None
        ids = [self._resolve(i.text, i.span, scope) for i in outputs]
        return None if any(i is None for i in ids) else [i for i in ids if i is not None]

    # --- names --------------------------------------------------------------------------------
    def _resolve(self, name: str, span: Span, scope: _Scope) -> str | None:
        if name in scope.bound:
            return scope.bound[name]
        stmt = scope.defs.get(name)
        if stmt is not None:
            if stmt in scope.visiting:
                self._cycle(stmt, scope, span)
                return None
            self._assign(stmt, scope, used_at=span)
            return scope.bound.get(name)
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
        elif name in REGISTRY or name in self.program.blocks:
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
            known = scope.tensor_names()
            close = _closest(name, known)
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
                    help=f"did you mean `{close}`?" if close else _listing(known),
                )
            )
        scope.bound[name] = None
        return None

    def _cycle(self, stmt: ast.Assign, scope: _Scope, span: Span) -> None:
        start = scope.visiting.index(stmt)
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

    def _add_call_site(self, first_new: int, site: Site, block: ast.Block) -> None:
        """Point the diagnostics made inside a block's body at the call that expanded it."""
        for i in range(first_new, len(self.diags)):
            diag = self.diags[i]
            span = diag.primary_span
            if span is None or not _inside(span, block.span):
                continue
            label = Label(site.span, f"in block `{site.block}`, called here")
            self.diags[i] = replace(diag, labels=(*diag.labels, label))

    def _definition(self, name: str, scope: _Scope) -> Span | None:
        """Where a tensor name of the scope is defined."""
        stmt = scope.defs.get(name)
        if stmt is not None:
            return next(t.span for t in stmt.targets if t.text == name)
        node_id = scope.bound.get(name)
        if node_id is not None and node_id in self.graph:
            node = self.graph.node(node_id)
            if node.role is Role.INPUT:
                return node.span
        return None

    def _let_span(self, name: str, scope: _Scope) -> Span | None:
        let = scope.lets.get(name) or self.program.lets.get(name)
        return let.name.span if let is not None else None

    def _unknown_kind(self, ident: ast.Ident, scope: _Scope | None = None) -> None:
        name = ident.text
        if scope is not None and name in scope.tensor_names():
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
        kinds = list(REGISTRY) + list(self.program.blocks)
        self.diags.append(
            error(
                "E201",
                f"unknown unit kind `{name}`",
                ident.span,
                "not a unit kind",
                help=did_you_mean(name, kinds) or "`netspec explain units` lists the unit kinds",
            )
        )

    def _fresh(self, base: str) -> str:
        n = self.suffixes.get(base, 1)  # resume where the last id of this base left off
        candidate = base if n == 1 else f"{base}_{n}"
        while candidate in self.graph or candidate in self.reserved:
            n += 1
            candidate = f"{base}_{n}"
        self.suffixes[base] = n
        self.reserved.add(candidate)
        return candidate


def _block_inputs(block: ast.Block) -> int:
    return sum(isinstance(s, ast.Input) for s in block.body)


def _block_params(block: ast.Block) -> tuple[ParamSpec, ...]:
    from netspec.units.base import REQUIRED

    return tuple(
        ParamSpec(
            p.name.text,
            "any",
            "a block parameter",
            REQUIRED if p.default is None else _DeferredDefault(p.default),
        )
        for p in block.params
    )


@dataclass(frozen=True)
class _DeferredDefault:
    """A block parameter's default, evaluated where the block is expanded."""

    expr: ast.Expr


def _last_call(expr: ast.Expr) -> ast.Call | None:
    if isinstance(expr, ast.Call):
        return expr
    if isinstance(expr, ast.Chain):
        link = expr.links[-1]
        while isinstance(link, ast.Repeat):
            link = link.links[-1]
        return link if isinstance(link, ast.Call) else ast.Call(link.name, (), link.span)
    return None


def _is_literal(expr: ast.Expr) -> bool:
    return isinstance(expr, (ast.Number, ast.String, ast.ListExpr))


def _literal(expr: ast.Expr) -> Any:
    if isinstance(expr, (ast.Number, ast.String)):
        return expr.value
    if isinstance(expr, ast.ListExpr):
        return tuple(_literal(i) for i in expr.items)
    return Symbol("?")


def _listing(names: set[str]) -> str | None:
    if not names:
        return None
    shown = sorted(names)[:8]
    return "names here: " + ", ".join(f"`{n}`" for n in shown) + (", ..." if len(names) > 8 else "")


def _source_text(expr: ast.Expr | ast.Link) -> str:
    from netspec.printer import format_expr

    return format_expr(expr)


def _with_first_arg(call: ast.Call, first: str) -> str:
    arg = ast.Arg(None, ast.Ref(ast.Ident(first)))
    return _source_text(ast.Call(call.callee, (arg, *call.args)))


def _last_link(link: ast.Link) -> ast.Call | ast.Ref:
    while isinstance(link, ast.Repeat):
        link = link.links[-1]
    return link


def _closest(name: str, candidates: set[str]) -> str | None:
    hint = did_you_mean(name, candidates)
    return hint.split("`")[1] if hint else None


def _example_names(names: list[str], n: int) -> list[str]:
    """`n` names for the values of a multi-output block, keeping the ones already written."""
    return (names + [f"out{i + 1}" for i in range(len(names), n)])[:n]


def _inside(span: Span, outer: Span) -> bool:
    return span.file == outer.file and outer.start <= span.start and span.end <= outer.end
