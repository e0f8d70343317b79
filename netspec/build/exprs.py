"""Expand expressions into graph nodes: names, chains, repetitions, and unit and block calls."""

from __future__ import annotations

from typing import Any

from netspec.build.blocks import BlockExpander, block_inputs, block_params
from netspec.build.call_inputs import enough_inputs
from netspec.build.names import Resolver
from netspec.build.scope import BuildState, Ids, Scope
from netspec.build.text import (
    as_call,
    example_names,
    last_link,
    literal,
    misplaced_loss,
    source_text,
    split_args,
)
from netspec.build.values import Symbol, bind, describe, evaluate
from netspec.diagnostics.core import did_you_mean, error
from netspec.ir import Node, Role
from netspec.lang import ast
from netspec.units import REGISTRY, ParamSpec, UnitKind

MAX_REPEAT = 1_000  # copies one `* n` may make; more is a typo, and would take minutes to build
MAX_NODES = 20_000  # units a network may grow to by nested repetitions (`(a * 1000) * 1000`)


_ARITHMETIC_HELP = (
    "`+ - * //` compute sizes and counts; to repeat units write the count after a link, "
    "`x -> dense(8) * 3`, and to add tensors use a unit such as `add(a, b)`"
)


class Expander:
    """Builds the units of an expression; node ids start with a hint, the last one may be given."""

    def __init__(self, state: BuildState, names: Resolver, blocks: BlockExpander) -> None:
        self.state = state
        self.diags = state.diags
        self.names = names
        self.blocks = blocks
        self._signatures: dict[int, tuple[int, bool, tuple[ParamSpec, ...]]] = {}  # by id(block)

    def _signature(self, callee: UnitKind | ast.Block) -> tuple[int, bool, tuple[ParamSpec, ...]]:
        """How many tensor inputs a unit kind or block takes, whether they repeat, its
        parameters; a block's once per build, since a network may call it thousands of times."""
        if not isinstance(callee, ast.Block):
            signature = callee.signature
            return len(signature.inputs), signature.variadic, signature.params
        found = self._signatures.get(id(callee))
        if found is None:
            found = self._signatures[id(callee)] = (
                block_inputs(callee),
                False,
                block_params(callee),
            )
        return found

    def tensor(self, expr: ast.Expr, scope: Scope, hint: str, final: str | None) -> Ids | None:
        """The node ids of the expression's values; `final` is the id of its last unit."""
        if isinstance(expr, ast.Ref):
            node_id = self.names.resolve(expr.name.text, expr.span, scope)
            return [node_id] if node_id is not None else None
        if isinstance(expr, ast.Call):
            return self._apply(expr, None, scope, hint, final, chained=False)
        if isinstance(expr, ast.Chain):
            return self._chain(expr, scope, hint, final)
        if isinstance(expr, ast.BinOp):
            found, help = f"the arithmetic `{source_text(expr)}`", _ARITHMETIC_HELP
        else:
            found = describe(literal(expr))
            help = "name an input or a unit's result, or write a unit call"
        self.diags.append(
            error(
                "E214",
                f"expected a tensor here, but found {found}",
                expr.span,
                "not a tensor",
                help=help,
            )
        )
        return None

    def first_ref(self, expr: ast.Expr, scope: Scope) -> ast.Ref | None:
        """The name that building `expr` resolves before it makes a node or a diagnostic: a
        chain's head, or a valid call's first tensor argument, nested calls followed."""
        while True:
            if isinstance(expr, ast.Ref):
                return expr
            if isinstance(expr, ast.Chain):
                expr = expr.head
                continue
            if not isinstance(expr, ast.Call):
                return None
            kind = REGISTRY.get(expr.callee.text)
            callee = kind if kind is not None else self.state.program.blocks.get(expr.callee.text)
            if callee is None or (kind is not None and kind.role == "loss"):
                return None
            n_inputs, variadic, _ = self._signature(callee)
            positional, _ = split_args(expr.args)
            tensor_args = positional if variadic else positional[:n_inputs]
            if not tensor_args or not enough_inputs(expr, n_inputs, variadic, 0, tensor_args, []):
                return None
            expr = tensor_args[0].value

    def _chain(self, expr: ast.Chain, scope: Scope, hint: str, final: str | None) -> Ids | None:
        ids = self.tensor(expr.head, scope, hint, None)
        prev: ast.Call | ast.Ref = expr.head
        for i, link in enumerate(expr.links):
            is_last = i == len(expr.links) - 1
            left = _LeftSide(expr, i)
            ids = self._link(link, ids, scope, hint, final if is_last else None, prev, left)
            prev = last_link(link)
        return ids

    def _link(
        self,
        link: ast.Link,
        ids: Ids | None,
        scope: Scope,
        hint: str,
        final: str | None,
        prev: ast.Call | ast.Ref,
        left: _LeftSide,
    ) -> Ids | None:
        """Apply one link to `ids`, the values of `left`, which ends in `prev`."""
        if isinstance(link, ast.Repeat):
            return self._repeat(link, ids, scope, hint, final, prev, left)
        call = as_call(link)
        if ids is not None and len(ids) != 1:
            names = ", ".join(example_names([], len(ids)))
            self.diags.append(
                error(
                    "E205",
                    f"`->` passes one value, but the left side gives {len(ids)}",
                    call.span,
                    "receives several values",
                    secondary=[(prev.span, f"gives {len(ids)} values")],
                    help=f"name the values first (`{names} = {source_text(left.expr())}`) and "
                    "pass one of them on",
                )
            )
            ids = None
        return self._apply(call, ids, scope, hint, final, chained=True, piped_from=prev)

    def _repeat(
        self,
        link: ast.Repeat,
        ids: Ids | None,
        scope: Scope,
        hint: str,
        final: str | None,
        prev: ast.Call | ast.Ref,
        left: _LeftSide,
    ) -> Ids | None:
        count = self._count(link.count, scope)
        if count is None:
            return None
        for r in range(count):
            if r and ids is None:  # a copy failed: every later one would fail the same way
                return None
            if len(self.state.graph) > MAX_NODES:
                self.diags.append(
                    error(
                        "E404",
                        f"this repetition makes network `{self.state.graph.name}` larger than "
                        f"{MAX_NODES:,} units (copy {r + 1:,} of {count:,})",
                        link.count.span,
                        "too many copies in all",
                        help="nested repetitions multiply: `(a * 100) * 100` is 10,000 copies",
                    )
                )
                return None
            for j, inner in enumerate(link.links):
                is_last = r == count - 1 and j == len(link.links) - 1
                ids = self._link(inner, ids, scope, hint, final if is_last else None, prev, left)
                prev = last_link(inner)
        return ids

    def _count(self, expr: ast.Number | ast.Ref | ast.BinOp, scope: Scope) -> int | None:
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
        scope: Scope,
        hint: str,
        final: str | None,
        chained: bool,
        piped_from: ast.Call | ast.Ref | None = None,
    ) -> Ids | None:
        """A unit or block call; in a chain, `piped` (the left side) is its first input."""
        name = call.callee.text
        callee = self._callee(call, scope, final)
        if callee is None:
            return None
        n_inputs, variadic, specs = self._signature(callee)
        positional, keyword = split_args(call.args)
        have = 1 if chained else 0
        take = len(positional) if variadic else max(n_inputs - have, 0)
        tensor_args, value_args = positional[:take], positional[take:]
        if not enough_inputs(call, n_inputs, variadic, have, tensor_args, self.diags):
            return None
        inputs: list[str | None] = list(piped) if piped is not None else [None] * have
        inputs += [self._input(arg, name, scope, hint) for arg in tensor_args]
        params = bind(name, specs, value_args, keyword, scope.env, self.diags, call.span, call=call)
        if params is None or any(i is None for i in inputs) or (chained and piped is None):
            return None
        ids = [i for i in inputs if i is not None]
        node_id = final or self.state.fresh(f"{hint}.{name}")
        if isinstance(callee, ast.Block):
            return self.blocks.expand(callee, ids, params, node_id, call.span, scope)
        written = [source_text(piped_from)] if piped_from is not None else [""] * have
        written += [source_text(a.value) for a in tensor_args]
        self._unit(callee, call, ids, params, scope, node_id).meta["written"] = tuple(written)
        return [node_id]

    def _callee(
        self, call: ast.Call, scope: Scope, final: str | None
    ) -> UnitKind | ast.Block | None:
        """The unit kind, else the block, that a call names; None once reported as not callable."""
        name = call.callee.text
        kind = REGISTRY.get(name)
        block = self.state.program.blocks.get(name)
        if kind is None and block is None:
            self.names.unknown_kind(call.callee, scope)
            return None
        if kind is not None and kind.role == "loss" and not (final or "").startswith("loss:"):
            statement = f"loss {source_text(call)}"
            self.diags.append(
                misplaced_loss(name, call.callee.span, "a loss used as a unit", statement)
            )
            return None
        return kind if kind is not None else block

    def _input(self, arg: ast.Arg, name: str, scope: Scope, hint: str) -> str | None:
        """The node id of a tensor passed as an argument of `name`."""
        got = self.tensor(arg.value, scope, hint, None)
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
        return got[0] if got else None

    def _unit(
        self,
        kind: UnitKind,
        call: ast.Call,
        inputs: list[str],
        params: dict[str, Any],
        scope: Scope,
        node_id: str,
    ) -> Node:
        role = Role.LOSS if kind.role == "loss" else Role.UNIT
        node = Node(node_id, role, kind.name, call.span, params, scope=scope.sites)
        return self.state.graph.add(node, inputs)


class _LeftSide:
    """What a chain gives before its link `i`, built only for a diagnostic: building it for
    every link would copy the chain's links once per link."""

    def __init__(self, chain: ast.Chain, i: int) -> None:
        self.chain, self.i = chain, i

    def expr(self) -> ast.Expr:
        chain, i = self.chain, self.i
        return ast.Chain(chain.head, chain.links[:i]) if i else chain.head
