"""The IR's dependency order: insertion order when the builder kept it, networkx's sort when not."""

from __future__ import annotations

import random

import networkx as nx

from netspec.ir import Graph, Node, Role
from netspec.lang.source import NOWHERE


def _graph(edges: dict[str, list[str]]) -> Graph:
    """Nodes added in the dict's order, each with the given sources (possibly added later)."""
    graph = Graph("n")
    for node_id, sources in edges.items():
        graph.add(Node(node_id, Role.UNIT, "relu", NOWHERE), inputs=sources)
    return graph


def _networkx_order(graph: Graph) -> list[str]:
    return list(nx.lexicographical_topological_sort(graph._g, key=graph._order.__getitem__))


def test_a_graph_built_inputs_first_is_in_insertion_order() -> None:
    graph = _graph({"x": [], "a": ["x"], "b": ["x"], "c": ["b", "a"]})
    assert graph.topo_order() == ["x", "a", "b", "c"] == _networkx_order(graph)
    assert graph.lint() == []


def test_a_node_added_before_its_input_is_sorted_after_it() -> None:
    graph = _graph({"x": [], "c": ["b"], "b": ["x"]})
    assert graph.topo_order() == ["x", "b", "c"]


def test_a_cycle_is_still_found() -> None:
    graph = _graph({"a": ["b"], "b": ["a"]})
    assert "the graph has a cycle" in graph.lint()


def test_the_fast_path_agrees_with_networkx_on_random_graphs() -> None:
    rng = random.Random(7)
    for trial in range(200):
        n = rng.randint(1, 12)
        ranks = list(range(n))
        rng.shuffle(ranks)  # a hidden topological order; insertion order is another shuffle
        by_rank = {r: f"n{r}" for r in ranks}
        edges = {by_rank[r]: [by_rank[s] for s in range(r) if rng.random() < 0.3] for r in range(n)}
        inserted = list(edges) if trial % 2 else rng.sample(list(edges), n)
        graph = _graph({k: edges[k] for k in inserted})
        assert graph.topo_order() == _networkx_order(graph)
