"""The reference pages `netspec explain` prints for a topic rather than a spec: the unit catalogue
and one kind, the `train` catalogues (settings, data sources, optimizers, schedules, pretraining
methods), one entry and one setting; and, for a word that is no topic, the closest ones. All read
from the registries, so they cannot go stale."""

from __future__ import annotations

from collections.abc import Mapping

from netspec.diagnostics.codes import CODES
from netspec.diagnostics.core import did_you_mean
from netspec.equations.expr import Expr, statement_lines, sym
from netspec.plan import catalog
from netspec.plan.plans import CallPlan
from netspec.units import REGISTRY
from netspec.units.base import ParamSpec

# The train catalogues in the order a train section is written: title, one entry's kind, entries
# (the catalogues themselves, so entries registered at run time are listed too).
CATALOGUES: tuple[tuple[str, str, Mapping[str, catalog.Entry]], ...] = (
    ("data sources (data = ...)", "data source", catalog.SOURCES),
    ("optimizers (optimizer = ...)", "optimizer", catalog.OPTIMIZERS),
    ("learning-rate schedules (schedule = ...)", "learning-rate schedule", catalog.SCHEDULES),
    (
        "pretraining methods (method = ..., in a stage with greedy = [...])",
        "pretraining method",
        catalog.METHODS,
    ),
)


def show(value: object) -> str:
    """A default as it is written in a spec."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _signature(name: str, params: tuple[ParamSpec, ...]) -> str:
    args = ", ".join(p.name + ("" if p.required else f"={show(p.default)}") for p in params)
    return f"{name}({args})"


def _param_lines(params: tuple[ParamSpec, ...]) -> list[str]:
    lines = []
    for p in params:
        default = "required" if p.required else f"default {show(p.default)}"
        choices = f", one of {', '.join(p.choices)}" if p.choices else ""
        lines.append(f"  {p.name} ({p.type}, {default}{choices}): {p.doc}")
    return lines


def unit_listing() -> str:
    """Every unit kind, by family, with its signature and one line of doc."""
    lines, family = [], ""
    for kind in REGISTRY.values():
        if kind.family != family:
            family = kind.family
            lines.append(f"{family}:")
        lines.append(f"  {_signature(kind.name, kind.signature.params)}  {kind.doc}")
    return "\n".join(lines) + "\n"


def unit_page(name: str) -> str:
    """One unit kind: inputs, parameters, pretraining methods and an example."""
    kind = REGISTRY[name]
    inputs = ", ".join(kind.signature.inputs) + (", ..." if kind.signature.variadic else "")
    lines = [f"{name}: {kind.doc}", f"  family: {kind.family}", f"  inputs: {inputs}"]
    lines += _param_lines(kind.signature.params)
    if kind.pretrain:
        lines.append(f"  pretraining: {', '.join(kind.pretrain)}")
    lines.append("example:")
    lines += [f"  {line}" for line in kind.example.splitlines()]
    return "\n".join(lines) + "\n"


# The settings whose values are catalogue calls or unit lists, which SCALARS does not describe.
_CALL_SETTINGS = {
    "data": "where the samples come from: a data source below (required)",
    "optimizer": "an optimizer below (default adam())",
    "schedule": "a learning-rate schedule below (default constant())",
    "greedy": "units to pretrain one by one, bottom-up, such as [h1, h2]",
    "method": "the pretraining method of the greedy units (default: each kind's first)",
    "freeze": "units whose weights stay fixed in this stage, such as [h1]",
}


def _setting_doc(name: str) -> str:
    if name in _CALL_SETTINGS:
        return _CALL_SETTINGS[name]
    spec = catalog.SCALARS[name]
    if name == "epochs":
        return f"{spec.doc} (default {catalog.DEFAULT_EPOCHS} unless `steps` is set)"
    return spec.doc if spec.default is None else f"{spec.doc} (default {show(spec.default)})"


# The train settings by where they may be written: the listing's title, a setting page's line.
SETTING_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("section settings", "a setting of the train section", catalog.SECTION_KEYS),
    (
        "settings of the section that stages inherit, or of one stage",
        "a setting of the train section, which its stages inherit, or of one stage",
        catalog.SHARED_KEYS,
    ),
    ("stage settings", "a setting of one stage", catalog.STAGE_KEYS),
)
SETTINGS = tuple(name for _, _, keys in SETTING_GROUPS for name in keys)

# The settings whose value is a call of one catalogue, whose entries their pages list.
_SETTING_CATALOGUES: dict[str, Mapping[str, catalog.Entry]] = {
    "data": catalog.SOURCES,
    "optimizer": catalog.OPTIMIZERS,
    "schedule": catalog.SCHEDULES,
    "method": catalog.METHODS,
}


def _entry_lines(entries: Mapping[str, catalog.Entry]) -> list[str]:
    return [f"  {_signature(e.name, e.params)}  {e.doc}" for e in entries.values()]


def train_listing() -> str:
    """The settings of a train section or stage, then every catalogue entry with its
    signature."""
    width = max(len(name) for name in SETTINGS)
    lines = []
    for title, _, keys in SETTING_GROUPS:
        lines.append(f"{title}:")
        lines += [f"  {name:<{width}}  {_setting_doc(name)}" for name in keys]
    for title, _, entries in CATALOGUES:
        lines.append(f"{title}:")
        lines += _entry_lines(entries)
    return "\n".join(lines) + "\n"


def setting_page(name: str) -> str:
    """One train setting: what it sets, where it may be written, and the entries it takes.

    >>> setting_page("clip").splitlines()[1]
    '  (a setting of the train section, which its stages inherit, or of one stage)'
    """
    where = next(where for _, where, keys in SETTING_GROUPS if name in keys)
    lines = [f"{name}: {_setting_doc(name)}", f"  ({where})"]
    spec = catalog.SCALARS.get(name)
    if spec is not None:
        lines.append(
            f"  one of: {', '.join(spec.choices)}" if spec.choices else f"  type: {spec.type}"
        )
    if name in _SETTING_CATALOGUES:
        entries = _SETTING_CATALOGUES[name]
        lines.append(next(f"{title}:" for title, _, e in CATALOGUES if e is entries))
        lines += _entry_lines(entries)
    return "\n".join(lines) + "\n"


def catalogue_entry(name: str) -> tuple[str, catalog.Entry] | None:
    """The kind and entry of a data source, optimizer, schedule or method called `name`."""
    for _, kind, entries in CATALOGUES:
        if name in entries:
            return kind, entries[name]
    return None


def entry_page(name: str) -> str:
    """One data source, optimizer, schedule or method: its doc and parameters."""
    found = catalogue_entry(name)
    assert found is not None, name
    kind, entry = found
    lines = [f"{name}: {entry.doc}", f"  ({kind})"]
    lines += _param_lines(entry.params)
    if name in catalog.METHODS:
        lines.append(f"  trains: {', '.join(catalog.method_kinds(name))}")
        for kind in catalog.method_kinds(name):
            lines += rule_lines(kind, entry)
    if entry.update is not None:
        lines += update_lines(entry, {p.name: sym(p.name) for p in entry.params})
    return "\n".join(lines) + "\n"


def update_lines(entry: catalog.Entry, params: Mapping[str, object]) -> list[str]:
    """An optimizer's update rule, each step, with its parameters' values or names."""
    assert entry.update is not None
    statements = entry.update(params)
    lines = ["  update, at every step t = 1, 2, ... for each trained tensor theta, g = dL/dtheta:"]
    lines += [line for s in statements for line in statement_lines(s, "    ")]
    if isinstance(params.get("nesterov"), Expr):
        lines.append("    (with nesterov=true the step is g + momentum * b instead of b)")
    lines.append("    (running averages start at 0; each line overwrites the value it names)")
    return lines


def rule_lines(kind_name: str, method: catalog.Entry) -> list[str]:
    """A pretraining method's rule for one kind, on the kind's registry example, with the
    method's defaults and a stage's default optimizer (adam)."""
    from netspec.api import compile  # the example is compiled on demand
    from netspec.check import context
    from netspec.views.equations import rule_body, rule_settings

    kind = REGISTRY[kind_name]
    if kind.pretraining is None:
        return []
    graph = compile("network example {\n" + kind.example + "\n}").network()
    node = next(n for n in graph.nodes() if n.kind == kind_name)
    adam = CallPlan.default(catalog.OPTIMIZERS["adam"])
    eqs = kind.pretraining(context(graph, node), rule_settings(CallPlan.default(method), adam))
    example = kind.example.splitlines()[-1].strip()
    heading = f"  rule, at every minibatch, for `{example}` (defaults; a stage's default adam):"
    return [heading, *rule_body(eqs)]


BACKPROP = """\
backprop: backpropagation, how every gradient of a network is computed
  A network is a chain of units; the loss L is a function of the last one. The chain rule
  gives the gradient of L with respect to each value v, delta_v = dL/dv, from the gradient of
  the unit that reads v: walk the units in reverse, and each one turns the gradient of its
  output into the gradients of its inputs and of its own tensors (its local gradients). A
  value read by several units adds their contributions. Every optimizer step then moves each
  tensor against its gradient (`netspec explain sgd`, `adam`, ...).

  `netspec explain FILE --backward` prints this walk through your own network, with shapes.
  For a two-layer classifier it reads:

"""


def backprop_page() -> str:
    """What backpropagation is, with the walk through a small network as the example."""
    from netspec.api import compile  # the page's example is compiled on demand
    from netspec.views.equations import listing

    spec = "network two_layers { input x: [4]  input t: class(3)  h = dense(x, 5, act=sigmoid)"
    compiled = compile(spec + "  y = softmax(h, 3)  loss cross_entropy(y, t) }")
    example = listing(compiled.network(), compiled.sources, backward=True)
    return BACKPROP + "".join(f"  {line}\n" for line in example.splitlines())


def topic_page(name: str) -> str | None:
    """The page of a topic other than a diagnostic code: `units`, `train`, a unit kind, a
    catalogue entry or a train setting; None when `name` is none of them."""
    if name == "units":
        return unit_listing()
    if name == "train":
        return train_listing()
    if name == "backprop":
        return backprop_page()
    if name in REGISTRY:
        return unit_page(name)
    if catalogue_entry(name) is not None:
        return entry_page(name)
    if name in SETTINGS:
        return setting_page(name)
    return None


def topics() -> list[str]:
    """Every word `netspec explain` has a page for, diagnostic codes included."""
    names = ["units", "train", "backprop", *REGISTRY, *CODES, *SETTINGS]
    names += [name for _, _, entries in CATALOGUES for name in entries]
    return names


def unknown_topic(word: str) -> str:
    """What to say about a word that is neither a spec file nor a topic.

    >>> unknown_topic("dens").splitlines()[0]
    '`dens` is neither a spec file nor a topic; did you mean `dense`?'
    """
    hint = did_you_mean(word, topics())
    first = f"`{word}` is neither a spec file nor a topic" + (f"; {hint}" if hint else "")
    rest = (
        "  (`netspec explain units` lists the unit kinds, `netspec explain train` the train "
        "settings and catalogue entries)"
    )
    return f"{first}\n{rest}"
