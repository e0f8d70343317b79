"""Expand a block call: its parameters, a scope of its own for its body, and its outputs."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any

from netspec.build.names import Resolver
from netspec.build.scope import BuildState, Ids, Scope
from netspec.build.templates import Recording, Template, template_key
from netspec.build.text import inside
from netspec.build.values import Env, evaluate
from netspec.diagnostics.core import Label, error
from netspec.ir import Site
from netspec.lang import ast
from netspec.lang.source import Span
from netspec.units import ParamSpec
from netspec.units.base import REQUIRED

# Later calls of a block with the same parameters copy the first one's nodes (templates.py);
# off only to test that a copy is what building the call gives.
COPY_CALLS = True

# Builds the statements of a body into a scope; the block is the one being expanded, if any.
BodyFn = Callable[[tuple[ast.Statement, ...], Scope, ast.Block | None], None]


@dataclass(frozen=True)
class DeferredDefault:
    """A block parameter's default, evaluated where the block is expanded."""

    expr: ast.Expr


def block_inputs(block: ast.Block) -> int:
    return sum(isinstance(s, ast.Input) for s in block.body)


def block_params(block: ast.Block) -> tuple[ParamSpec, ...]:
    return tuple(
        ParamSpec(
            p.name.text,
            "any",
            "a block parameter",
            REQUIRED if p.default is None else DeferredDefault(p.default),
        )
        for p in block.params
    )


class BlockExpander:
    """Builds each call of a block as a copy of its body, under ids that start with the call's."""

    def __init__(self, state: BuildState, names: Resolver, body: BodyFn) -> None:
        self.state = state
        self.diags = state.diags
        self.names = names
        self.body = body
        self.templates: dict[Hashable, Template] = {}  # see netspec.build.templates

    def expand(
        self,
        block: ast.Block,
        inputs: list[str],
        params: dict[str, Any],
        site_id: str,
        span: Span,
        caller: Scope,
    ) -> Ids | None:
        """The node ids of the block's outputs for one call, given its bound parameters."""
        name = block.name.text
        if name in caller.blocks:
            self._recursion(block, span, caller)
            return None
        site = Site(name, site_id, span)
        self.state.sites[site_id] = site
        values = self._values(params)
        if values is None:
            return None
        key = template_key(block, values, inputs) if COPY_CALLS and not caller.sites else None
        template = self.templates.get(key) if key is not None else None
        if template is not None:
            del self.state.sites[site_id]  # the copy adds it back, with every site inside it
            outputs = template.instantiate(self.state, site_id, span, inputs)
            if outputs is not None:
                return outputs
            self.state.sites[site_id] = site
        recording = Recording(self.state, site_id) if key is not None else None
        scope = Scope(
            Env(values, parent=self.state.top),
            prefix=site_id + ".",
            sites=(*caller.sites, site),
            blocks=(*caller.blocks, name),
        )
        self._bind_inputs(block, inputs, scope)
        first_new = len(self.diags)
        self.body(block.body, scope, block)
        self._add_call_site(first_new, site, block)
        outputs = self._outputs(block, scope)
        if recording is not None:
            made = recording.finish(inputs, outputs)
            if made is not None and key not in self.templates:
                self.templates[key] = made
        return outputs

    def _recursion(self, block: ast.Block, span: Span, caller: Scope) -> None:
        name = block.name.text
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

    def _values(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The parameters' values; defaults see the top-level lets and earlier parameters."""
        values: dict[str, Any] = {}
        for key, value in params.items():
            if isinstance(value, DeferredDefault):
                value = evaluate(value.expr, Env(values, parent=self.state.top), self.diags)
                if value is None:
                    return None
            values[key] = value
        return values

    def _bind_inputs(self, block: ast.Block, inputs: list[str], scope: Scope) -> None:
        declared = [s for s in block.body if isinstance(s, ast.Input)]
        for stmt, node_id in zip(declared, inputs, strict=False):
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

    def _add_call_site(self, first_new: int, site: Site, block: ast.Block) -> None:
        """Point the diagnostics made inside a block's body at the call that expanded it."""
        for i in range(first_new, len(self.diags)):
            diag = self.diags[i]
            span = diag.primary_span
            if span is None or not inside(span, block.span):
                continue
            label = Label(site.span, f"in block `{site.block}`, called here")
            self.diags[i] = replace(diag, labels=(*diag.labels, label))

    def _outputs(self, block: ast.Block, scope: Scope) -> Ids | None:
        outputs = [i for s in block.body if isinstance(s, ast.Output) for i in s.names]
        if not outputs:
            assigned = [s.targets[-1].text for s in block.body if isinstance(s, ast.Assign)]
            last = assigned[-1] if assigned else "name"
            self.diags.append(
                error(
                    "E211",
                    f"block `{block.name.text}` has no `output`",
                    block.name.span,
                    "gives nothing back",
                    help=f"end the block with `output {last}`",
                )
            )
            return None
        ids = [self.names.resolve(i.text, i.span, scope) for i in outputs]
        return None if any(i is None for i in ids) else [i for i in ids if i is not None]
