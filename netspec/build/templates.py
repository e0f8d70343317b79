"""Reuse a block call's expansion for later calls of the block with the same parameters.

A network that calls `cell(h, 8)` a thousand times would otherwise build the block's body a
thousand times: resolve its names, bind every unit's parameters, check every call's arguments.
None of that depends on the call but through the block, its parameter values and which of its
inputs are the same tensor, since a block's body sees only its own names and the top-level
lets. So the first such call is recorded, and each later one copies its nodes under the new
call's id: the same nodes, edges, names and reserved ids that building it would give.

Only what is certain to come out the same is copied: calls from a network's body (not from
inside another block, whose call sites differ), whose first expansion reported nothing and
made only ids under its own prefix. Anything else is built as usual.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from netspec.build.scope import BuildState, Ids
from netspec.ir import Node, Role, Site
from netspec.lang import ast
from netspec.lang.source import Span

# Where a copied node's input comes from: a node of the copy (by its id after the prefix), an
# input of the call (by position), or a node outside the call (by id).
_INSIDE, _ARGUMENT, _OUTSIDE = 0, 1, 2


@dataclass(frozen=True)
class _NodeCopy:
    """One node of the recorded call, as it was when the call returned; ids after the prefix."""

    rest: str
    role: Role
    kind: str
    span: Span
    params: dict[str, Any]
    name: str | None
    value_span: Span | None
    scope: tuple[int, ...]  # indexes into Template.sites, outermost first
    meta: dict[str, Any]
    inputs: tuple[tuple[int, Any], ...]  # (_INSIDE, rest) | (_ARGUMENT, i) | (_OUTSIDE, id)


@dataclass(frozen=True)
class Template:
    """A recorded block call: everything it added to the build, ids relative to its prefix."""

    nodes: tuple[_NodeCopy, ...]
    sites: tuple[Site, ...]  # the call's own site first (its id unused), then those inside it
    site_rests: tuple[str, ...]  # the ids after the prefix of sites[1:]
    reserved: tuple[str, ...]  # ids after the prefix
    outputs: tuple[tuple[int, Any], ...]  # as node inputs are given

    def instantiate(self, state: BuildState, site_id: str, span: Span, inputs: Ids) -> Ids | None:
        """Add a copy for the call `site_id` with these inputs; None if its ids are taken."""
        prefix = site_id + "."
        taken, graph, known_sites = state.reserved, state.graph, state.sites
        for rest in self.reserved:
            if prefix + rest in taken or prefix + rest in graph:
                return None  # a name of the caller's is in the way: build the call as usual
        for rest in self.site_rests:
            if prefix + rest in known_sites:
                return None
        if site_id in known_sites:
            return None
        sites = [Site(self.sites[0].block, site_id, span)]
        sites += [
            Site(site.block, prefix + rest, site.span)
            for site, rest in zip(self.sites[1:], self.site_rests, strict=True)
        ]
        for site in sites:
            known_sites[site.id] = site
        taken.update([prefix + rest for rest in self.reserved])
        for n in self.nodes:
            node = Node(
                prefix + n.rest,
                n.role,
                n.kind,
                n.span,
                dict(n.params),
                n.name,
                n.value_span,
                tuple([sites[i] for i in n.scope]),
                meta=dict(n.meta),
            )
            graph.add(node, [_source(where, prefix, inputs) for where in n.inputs])
        return [_source(where, prefix, inputs) for where in self.outputs]


def _source(where: tuple[int, Any], prefix: str, inputs: Ids) -> str:
    place, value = where
    if place == _INSIDE:
        return prefix + value  # type: ignore[no-any-return]
    return inputs[value] if place == _ARGUMENT else value  # type: ignore[no-any-return]


class Recording:
    """What one block call adds to the build, taken as it returns."""

    def __init__(self, state: BuildState, site_id: str) -> None:
        self.state = state
        self.prefix = site_id + "."
        self.site_id = site_id
        self.nodes = len(state.graph)
        self.sites = len(state.sites) - 1  # the call's own site is registered already
        self.diags = len(state.diags)
        self.outer_journal = state.journal
        state.journal = []

    def finish(self, inputs: Ids, outputs: Ids | None) -> Template | None:
        """The template of the call, or None when it must not be copied."""
        state = self.state
        reserved = state.journal or []
        state.journal = self.outer_journal
        if self.outer_journal is not None:
            self.outer_journal.extend(reserved)
        if outputs is None or len(state.diags) != self.diags:
            return None
        added = len(state.graph) - self.nodes
        new_ids = list(islice(state.graph.newest_ids(), added))[::-1]
        site_ids = list(islice(reversed(state.sites), len(state.sites) - self.sites))[::-1]
        prefix = self.prefix
        if not all(i.startswith(prefix) for i in (*new_ids, *reserved, *site_ids[1:])):
            return None
        if site_ids[:1] != [self.site_id] or any(i.startswith(prefix) for i in inputs):
            return None
        graph = state.graph
        cut = len(prefix)
        argument = {node_id: i for i, node_id in reversed(list(enumerate(inputs)))}

        def where(node_id: str) -> tuple[int, Any]:
            if node_id.startswith(prefix):
                return _INSIDE, node_id[cut:]
            if node_id in argument:
                return _ARGUMENT, argument[node_id]
            return _OUTSIDE, node_id

        site_index = {site_id: i for i, site_id in enumerate(site_ids)}
        nodes = []
        for node_id in new_ids:
            node = graph.node(node_id)
            if node.type is not None or any(s.id not in site_index for s in node.scope):
                return None  # typed during the build, or in a site outside the call
            nodes.append(
                _NodeCopy(
                    node.id[cut:],
                    node.role,
                    node.kind,
                    node.span,
                    dict(node.params),
                    node.name,
                    node.value_span,
                    tuple(site_index[s.id] for s in node.scope),
                    dict(node.meta),
                    tuple(where(i) for i in graph.inputs_of(node_id)),
                )
            )
        return Template(
            tuple(nodes),
            tuple(state.sites[i] for i in site_ids),
            tuple(i[cut:] for i in site_ids[1:]),
            tuple(r[cut:] for r in reserved),
            tuple(where(o) for o in outputs),
        )


def template_key(block: ast.Block, values: dict[str, Any], inputs: Ids) -> Hashable:
    """What a call's expansion depends on."""
    same = tuple(inputs.index(i) for i in inputs)  # `cell(a, a)` differs from `cell(a, b)`
    # By type and written form: 8, 8.0 and True are equal in Python but make different units.
    given = tuple((k, type(v).__qualname__, repr(v)) for k, v in values.items())
    return (id(block), given, same)
