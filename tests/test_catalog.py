"""The train catalogues: a data source added at run time is one entry and one function, checked,
drawn, lowered and trained like a built-in one; the loader's cache keys on exactly what a source
is given; and every entry's implementation runs once (each source draws or reads samples that
fit its fields, each optimizer moves the weights, each schedule gives its rates, each method's
rule steps its unit)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Mapping
from dataclasses import replace
from math import prod
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
import torch

from netspec.api import compile
from netspec.backend.api import lower
from netspec.data import loading
from netspec.data.loading import Samples, load
from netspec.diagnostics.core import NetspecError
from netspec.plan import catalog
from netspec.plan.catalog import (
    FEATURES,
    METHODS,
    OPTIMIZERS,
    SCHEDULES,
    SOURCES,
    SPLIT,
    TARGET,
    Entry,
    Field,
    Source,
    method_kinds,
)
from netspec.plan.plans import CallPlan
from netspec.training.optim import Schedule, make_optimizer
from netspec.training.pretrain.rules import make_rule
from netspec.training.run import TrainOptions, train
from netspec.types import NO_LABEL, TensorType
from netspec.units import REGISTRY
from netspec.units.base import ParamSpec, positive
from netspec.views import explain
from netspec.views.draw import draw

# --- a data source added in-test: this entry and `rings` below, nothing else -------------------

CALLS: list[dict[str, Any]] = []  # the arguments each call of `rings` got


def rings(n: int, radius: float, seed: int) -> Samples:
    """Points on two noisy concentric circles (radius 1 and `radius`); the class is the ring."""
    CALLS.append({"n": n, "radius": radius, "seed": seed})
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    r = np.where(y == 0, 1.0, radius) + rng.normal(0.0, 0.05, size=n)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)  # (n, 2)
    return Samples(x, y, ("inner", "outer"))


RINGS = Source(
    "rings",
    "two concentric noisy circles in the plane; the class is the ring",
    (
        ParamSpec("n", "int", "number of points", 100, check=positive),
        ParamSpec("radius", "float", "radius of the outer ring", 2.0),
        *SPLIT,
    ),
    fields=lambda p: (
        Field("point", FEATURES, TensorType((2,))),
        Field("ring", TARGET, TensorType((), "class", 2)),
    ),
    impl=f"{__name__}:rings",
    seeded=True,
)

RINGS_NET = """
network r {
    input point: [2]
    input ring: class(2)
    p = point -> dense(8, act=relu) -> softmax(2)
    loss cross_entropy(p, ring)
}
train r {
    data = rings(n=DRAWN, test=0.25, seed=SEED)
    batch = 8
    optimizer = sgd(lr=0.1)
    steps = 1
}
"""


def _rings_spec(n: int = 40, seed: int = 1) -> str:
    return RINGS_NET.replace("DRAWN", str(n)).replace("SEED", str(seed))


@pytest.fixture
def registered() -> Iterator[None]:
    """`rings` in the catalogue for one test, and gone after it (with its cached samples)."""
    catalog.register("data", RINGS)
    CALLS.clear()
    try:
        yield
    finally:
        del SOURCES["rings"]
        loading._raw.cache_clear()


def test_a_source_added_at_run_time_is_checked_drawn_lowered_and_trained(
    registered: None, tmp_path: Path
) -> None:
    compiled = compile(_rings_spec(), "rings.net")
    data = compiled.trains["r"].data
    assert (data.source, data.params["n"], data.seed) == ("rings", 40, 1)
    assert {(b.field, b.input) for b in data.bindings} == {("point", "point"), ("ring", "ring")}
    for view in ("units", "neurons"):
        dot = draw(compiled, view=view)
        assert isinstance(dot, str) and "point" in dot
    lowered = lower(compiled)
    assert lowered.model(torch.zeros(3, 2)).shape == (3, 2)
    options = TrainOptions(runs_root=tmp_path, quiet=True, plots=False, drawing=False, argv=["t"])
    result = train(compiled, options)
    assert result.status == "done"
    assert [row["step"] for row in result.rows if "step" in row][-1:] == [1]
    assert math.isfinite(result.metrics["loss"])
    assert CALLS == [{"n": 40, "radius": 2.0, "seed": 1}]  # drawn once, with the plan's seed
    assert "rings: two concentric" in explain.entry_page("rings")
    assert "rings(n=100, radius=2.0" in explain.train_listing()


def test_a_source_s_mistakes_are_checked_like_a_built_in_one_s(registered: None) -> None:
    with pytest.raises(NetspecError) as caught:
        compile(_rings_spec().replace("n=40", "radius=big"), "rings.net")
    assert [d.code for d in caught.value.diagnostics] == ["E403"]
    assert "`radius` of `rings` expects a number" in caught.value.diagnostics[0].message


def test_a_seeded_source_s_samples_are_cached_by_its_seed(registered: None) -> None:
    def points(seed: int) -> np.ndarray:
        compiled = compile(_rings_spec(seed=seed), "rings.net")
        return load(compiled.trains["r"].data, compiled.networks["r"]).train.arrays["point"]

    first, again, other = points(1), points(1), points(2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)  # a seed left out of the key would repeat them
    assert [c["seed"] for c in CALLS] == [1, 2]  # the same seed is drawn once, from the cache


def test_a_source_that_is_not_seeded_is_read_once_whatever_the_seed() -> None:
    reads: list[dict[str, Any]] = []
    name = "fixed_points"

    def fixed_points(n: int) -> Samples:
        reads.append({"n": n})
        return Samples(np.arange(2.0 * n).reshape(n, 2), np.arange(n) % 2)

    entry = replace(RINGS, name=name, impl=f"{__name__}:{name}", seeded=False)
    entry = replace(entry, params=tuple(p for p in entry.params if p.name != "radius"))
    globals()[name] = fixed_points
    catalog.register("data", entry)
    try:
        for seed in (1, 2, 3):
            spec = _rings_spec(seed=seed).replace("rings(", f"{name}(")
            compiled = compile(spec, "fixed.net")
            split = load(compiled.trains["r"].data, compiled.networks["r"]).train
            assert split.size == 30
    finally:
        del SOURCES[name], globals()[name]
        loading._raw.cache_clear()
    assert reads == [{"n": 40}]  # never given the seed, which only splits its samples


def test_register_refuses_entries_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="needs `impl`"):
        catalog.register("data", replace(RINGS, impl=""))
    with pytest.raises(ValueError, match="already in the catalogue"):
        catalog.register("optimizer", OPTIMIZERS["sgd"])
    with pytest.raises(ValueError, match="lacks the split"):
        catalog.register("data", replace(RINGS, params=RINGS.params[:2]))
    with pytest.raises(TypeError, match="must be a `Source`"):
        catalog.register("data", Entry("plain", "not a source", impl="m:f"))
    with pytest.raises(ValueError, match="no catalogue for `loss`"):
        catalog.register("loss", Entry("l1", "no such catalogue", impl="m:f"))
    assert "rings" not in SOURCES


# --- every entry's implementation, once ---------------------------------------------------------

# What each catalogue's implementations are handed before the entry's parameters (keywords);
# a method's rule reads its parameters from the `method` call instead.
LEADING = {
    "data": (),
    "optimizer": ("params",),
    "schedule": ("base_lr", "total_steps", "by_steps"),
    "method": ("module", "unit", "method", "optimizer", "batch"),
}
TABLES: dict[str, Mapping[str, Entry]] = {
    "data": SOURCES,
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "method": METHODS,
}
ENTRIES = [(setting, e) for setting, table in TABLES.items() for e in table.values()]


@pytest.mark.parametrize(("setting", "entry"), ENTRIES, ids=[e.name for _, e in ENTRIES])
def test_every_entry_names_an_implementation_that_takes_its_parameters(
    setting: str, entry: Entry
) -> None:
    takes = list(inspect.signature(entry.resolve()).parameters)
    leading = LEADING[setting]
    assert tuple(takes[: len(leading)]) == leading, entry.name
    if setting == "method":
        assert len(takes) == len(leading)
        return
    own = [p.name for p in entry.params]
    if isinstance(entry, Source):
        # A source that takes `seed` but is not `seeded` would never be given it.
        assert ("seed" in takes) == entry.seeded, entry.name
        own = [k for k in own if k not in _SPLIT_ONLY and (k != "seed" or entry.seeded)]
    assert sorted(takes[len(leading) :]) == sorted(own), entry.name


_SPLIT_ONLY = ("test", "val")


def _arguments(entry: Source) -> dict[str, Any]:
    """The entry's defaults but the split's, with few samples: what the loader would pass."""
    skip = _SPLIT_ONLY if entry.seeded else (*_SPLIT_ONLY, "seed")
    args = {p.name: p.default for p in entry.params if p.name not in skip}
    if "seed" in args:
        args["seed"] = 0
    if "n" in args:
        args["n"] = 24
    return args


# The file sources read files; tests/test_data.py reads and checks csv and npy files of each kind.
GENERATED_OR_SHIPPED = [s for s in SOURCES.values() if not s.files]


@pytest.mark.parametrize("entry", GENERATED_OR_SHIPPED, ids=lambda s: s.name)
def test_every_source_gives_samples_that_fit_its_fields(entry: Source) -> None:
    args = _arguments(entry)
    samples = entry.resolve()(**args)
    assert isinstance(samples, Samples)
    roles = {field.role for field in entry.fields(args)}
    if samples.y is None:  # a features-only source declares no target field
        assert roles == {FEATURES}, entry.name
    else:
        assert TARGET in roles and len(samples.x) == len(samples.y)
    if "n" in args:
        assert len(samples.x) == args["n"]
    assert set(samples.more) <= {f.name for f in entry.fields(args) if f.role == TARGET}
    for field in entry.fields(args):
        assert field.type is not None
        values = samples.x if field.role == FEATURES else samples.y
        names = samples.names
        if field.name in samples.more:  # a further target, with its own class names
            values, names = samples.more[field.name]
        assert values is not None
        assert len(values) == len(samples.x)
        assert prod(values.shape[1:]) == prod(int(d) for d in field.type.dims), field
        if field.type.classes is not None:
            padded = field.role == TARGET and field.type.dims  # NO_LABEL at padded steps
            assert values.min() >= (NO_LABEL if padded else 0)
            assert values.max() < field.type.classes
            if field.role == TARGET and names:
                assert len(names) == field.type.classes


def _call(entry: Entry, **given: Any) -> CallPlan:
    """`entry` called with `given` and its defaults for the rest."""
    params = {p.name: p.default for p in entry.params} | given
    return CallPlan(entry.name, MappingProxyType(params))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_moves_the_weights_downhill(name: str) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = make_optimizer(_call(OPTIMIZERS[name], lr=0.01), model.parameters())
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        losses.append(float(loss.detach()))
    assert all(group["lr"] == 0.01 for group in optimizer.param_groups)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert losses[-1] < losses[0]


def test_optimizers_get_their_parameters() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    rms = make_optimizer(_call(OPTIMIZERS["rmsprop"], alpha=0.5, momentum=0.3), params)
    assert isinstance(rms, torch.optim.RMSprop)
    assert (rms.defaults["alpha"], rms.defaults["momentum"]) == (0.5, 0.3)
    adamw = make_optimizer(_call(OPTIMIZERS["adamw"], beta1=0.8), params)
    assert isinstance(adamw, torch.optim.AdamW)
    assert (adamw.defaults["betas"], adamw.defaults["weight_decay"]) == ((0.8, 0.999), 0.01)
    sgd = make_optimizer(_call(OPTIMIZERS["sgd"], lr=0.1, momentum=0.9, nesterov=True), params)
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"]


# Each schedule's rates over 8 optimizer steps at base rate 1, counting steps (epoch = step // 2);
# a schedule added to the catalogue needs its line here.
RATES: dict[str, tuple[dict[str, Any], bool, list[float]]] = {
    "constant": ({}, True, [1.0] * 8),
    "step": ({"every": 3, "gamma": 0.5}, True, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]),
    "cosine": (
        {"warmup": 2, "min_lr": 0.1},
        True,
        [0.5, 1.0, 1.0, *(0.1 + 0.45 * (1 + math.cos(math.pi * k / 6)) for k in range(1, 6))],
    ),
    "warmup": ({"steps": 4}, True, [0.25, 0.5, 0.75, 1, 1, 1, 1, 1]),
    "plateau": ({}, True, [1.0] * 8),  # decays only at epoch ends: the next test
}


def test_every_schedule_has_its_rates_here() -> None:
    assert set(RATES) == set(SCHEDULES)


@pytest.mark.parametrize("name", list(RATES))
def test_every_schedule_gives_its_rates(name: str) -> None:
    given, by_steps, expected = RATES[name]
    schedule = Schedule(_call(SCHEDULES[name], **given), 1.0, 8, by_steps)
    rates = [schedule.lr(step, step // 2) for step in range(8)]
    assert rates == pytest.approx(expected)


def test_step_decay_counts_epochs_unless_the_stage_counts_steps() -> None:
    schedule = Schedule(_call(SCHEDULES["step"], every=2, gamma=0.1), 1.0, 8, by_steps=False)
    assert [schedule.lr(step, epoch=step // 4) for step in range(0, 16, 4)] == pytest.approx(
        [1.0, 1.0, 0.1, 0.1]
    )


def test_plateau_decays_after_its_patience_down_to_its_floor_and_resumes_exactly() -> None:
    call = _call(SCHEDULES["plateau"], patience=1, factor=0.5, min_lr=0.3)
    schedule = Schedule(call, 1.0, 100, by_steps=False)
    rates = []
    for monitored in (1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1):
        schedule.epoch_end(monitored)
        rates.append(schedule.lr(0, 0))
    # better, better, stall 1 (patience), stall 2: x0.5, stall 1, stall 2: floored at 0.3
    assert rates == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.5, 0.3, 0.3, 0.3])
    resumed = Schedule(call, 1.0, 100, by_steps=False)
    resumed.load_state_dict(schedule.state_dict())
    assert resumed.state_dict() == schedule.state_dict() and resumed.lr(0, 0) == pytest.approx(0.3)


def _unit_of(kind: str) -> tuple[torch.nn.Module, Mapping[str, Any], int]:
    """A module of `kind` from its registry example, its spec parameters and its input size."""
    compiled = compile(f"network n {{ {REGISTRY[kind].example} }}")
    graph, lowered = compiled.network(), lower(compiled)
    (node,) = [n for n in graph.nodes() if n.kind == kind]
    (source,) = graph.inputs_of(node.id)
    size = graph.node(source).type
    assert size is not None
    return lowered.root.get_submodule(lowered.modules[node.id]), node.params, int(size.dims[0])


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_s_rule_steps_its_unit(name: str) -> None:
    torch.manual_seed(0)
    module, unit, width = _unit_of(method_kinds(name)[0])
    before = {k: v.clone() for k, v in module.state_dict().items()}
    sgd = _call(OPTIMIZERS["sgd"], lr=0.1)
    rule = make_rule(module, unit, _call(METHODS[name]), sgd, batch=8)
    x = torch.bernoulli(torch.full((8, width), 0.5))  # (B, V) binary, as RBMs want
    for _ in range(2):
        rule.step(x, 0.1)
    rule.finish()
    assert math.isfinite(rule.monitors(x, x)["loss"])
    after = module.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), name


def test_a_method_s_rule_refuses_a_module_of_another_kind() -> None:
    module, unit, _ = _unit_of(method_kinds("reconstruction")[0])
    with pytest.raises(TypeError, match="`cd` trains RBMs, not Autoencoder"):
        make_rule(module, unit, _call(METHODS["cd"]), _call(OPTIMIZERS["sgd"], lr=0.1), 8)


# --- the rarely used entries, end to end ---------------------------------------------------------

STAGES = """
network b {
    input point: [2]
    input cluster: class(3)
    y = point -> dense(8, act=relu) -> softmax(3)
    loss cross_entropy(y, cluster)
}
train b {
    data = blobs(n=48, classes=3, test=0.25, val=0.25, seed=2)
    batch = 8
    stage warm { optimizer = rmsprop(lr=0.01)  schedule = warmup(steps=2)  steps = 2 }
    stage settle { optimizer = adamw(lr=0.01)  schedule = plateau(patience=1)  epochs = 2 }
}
"""


def test_rmsprop_warmup_adamw_and_plateau_train_a_spec(tmp_path: Path) -> None:
    options = TrainOptions(runs_root=tmp_path, quiet=True, plots=False, drawing=False, argv=["t"])
    result = train(compile(STAGES, "stages.net"), options)
    assert result.status == "done"
    assert math.isfinite(result.metrics["loss"])
