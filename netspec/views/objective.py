"""The pretraining objective of a unit that learns to rebuild its input (an autoencoder), drawn
beside it in the units view: the corrupted input, the decoder's reconstruction and its loss
against the clean input. None of it is in the network's forward pass, so it is drawn in blue,
dashed, in a cluster of its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from netspec.ir import Graph, Node
from netspec.units import REGISTRY
from netspec.units.base import Reconstruction
from netspec.views.dot import FONT, Cluster, Digraph, html
from netspec.views.legend import OBJECTIVE, OBJECTIVE_EDGE


class Objectives:
    """Adds units' objectives to a drawing; `idle(unit)` says whether the stage drawn leaves
    that objective alone (then it takes the `idle_look` colours), and `methods` names a unit's
    pretraining method."""

    def __init__(
        self,
        dot: Digraph,
        graph: Graph,
        methods: Mapping[str, str],
        idle: Callable[[str], bool],
        idle_look: Mapping[str, str],
    ) -> None:
        self.dot, self.graph, self.methods = dot, graph, methods
        self.idle, self.idle_look = idle, idle_look
        self.used: set[str] = set()  # the legend entries the objectives drawn use

    def add(self, node: Node) -> Cluster | None:
        """The unit's objective cluster, its nodes and edges added; None if it has none."""
        hook = REGISTRY[node.kind].drawing.reconstruction
        ins = self.graph.inputs_of(node.id)
        if hook is None or not ins:
            return None
        self.used |= {"objective", "unit", "loss"}
        x = self.graph.node(ins[0])
        model = hook(node.label, x.label, node.params)
        look = {"color": OBJECTIVE, "fontcolor": OBJECTIVE}
        if self.idle(node.id):
            look = dict(self.idle_look)
            self.used.add("idle")
        edge = {**OBJECTIVE_EDGE, **look}
        cluster = Cluster(f"objective:{node.id}", _cluster_attrs(node, look))
        encoded_from = x.id
        if model.corrupted:
            self.used.add("latent")  # the corrupted input is a random variable
            encoded_from = self._corrupted(cluster, node, x, model, look)
            self.dot.edge(x.id, encoded_from, **edge, tooltip=f"{model.corruption}")
            self.dot.edge(
                encoded_from,
                node.id,
                **edge,
                label="encode",
                tooltip=f"in pretraining, {node.label} encodes {model.corrupted} with its own "
                f"weights; the network's {node.label} reads {x.label} clean",
            )
        rebuilt = self._reconstructed(cluster, node, model, look)
        self.dot.edge(node.id, rebuilt, **edge, label="decode", tooltip=model.decoder)
        loss = self._loss(cluster, node, x, model, look)
        self.dot.edge(rebuilt, loss, **edge, tooltip=f"{model.reconstructed}, rebuilt")
        self.dot.edge(
            x.id, loss, **edge, tooltip=f"{x.label}, clean: what the reconstruction is held to"
        )
        return cluster

    def _corrupted(
        self, cluster: Cluster, node: Node, x: Node, model: Reconstruction, look: dict[str, str]
    ) -> str:
        node_id = f"{node.id}:corrupted"
        self.dot.node(
            node_id,
            shape="ellipse",
            label=_label(model.corrupted, [model.corruption]),
            tooltip=f"{model.corrupted} = {model.corruption}: the corrupted input, drawn anew "
            f"each batch of pretraining (the network itself reads {x.label} clean)",
            **look,
        )
        cluster.nodes.append(node_id)
        return node_id

    def _reconstructed(
        self, cluster: Cluster, node: Node, model: Reconstruction, look: dict[str, str]
    ) -> str:
        node_id = f"{node.id}:reconstructed"
        self.dot.node(
            node_id,
            shape="box",
            style="rounded",
            label=_label(model.reconstructed, [model.decoder]),
            tooltip=f"{model.reconstructed} = {model.decoder}: the decoder, used in pretraining",
            **look,
        )
        cluster.nodes.append(node_id)
        return node_id

    def _loss(
        self, cluster: Cluster, node: Node, x: Node, model: Reconstruction, look: dict[str, str]
    ) -> str:
        node_id = f"{node.id}:objective"
        method = self.methods.get(node.id, "")
        rows = [f"{model.reconstructed} vs {x.label}", method, model.penalty]
        self.dot.node(
            node_id,
            shape="box",
            style="dashed",
            label=_label("reconstruction error", [r for r in rows if r]),
            tooltip=f"the pretraining objective of {node.label}: the error of "
            f"{model.reconstructed} against the clean {x.label}"
            + (f" {model.penalty}" if model.penalty else "")
            + "; not part of the network's loss",
            **look,
        )
        cluster.nodes.append(node_id)
        return node_id


def _cluster_attrs(node: Node, look: dict[str, str]) -> dict[str, str]:
    return {
        "label": f"pretraining objective of {node.label}",
        "style": "rounded,dashed",
        "color": look["color"],
        "fontcolor": look["fontcolor"],
        "fontname": FONT,
        "fontsize": "9",
        "tooltip": f"what pretraining {node.label} minimises; not in the forward pass",
    }


def _label(title: str, small: list[str]) -> str:
    rows = [f"<b>{html(title)}</b>", *(f'<font point-size="9">{html(s)}</font>' for s in small)]
    return "<" + "<br/>".join(rows) + ">"
