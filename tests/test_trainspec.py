"""Train sections: plans with defaults filled in, data bound to inputs, and E5xx diagnostics."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netspec.api import compile
from netspec.diagnostics.core import NetspecError
from netspec.plan.catalog import METHODS, OPTIMIZERS, SCALARS, SCHEDULES, SOURCES, method_kinds
from netspec.plan.trainspec import TrainPlan

DBN = """
network dbn {
    input pixels: [64]
    input digit: class(10)
    h1 = rbm(pixels, 256)
    h2 = rbm(h1, 128)
    y = softmax(h2, 10)
    loss cross_entropy(y, digit)
}
"""


def _plan(train: str, network: str = DBN, file: str = "x.net") -> TrainPlan:
    compiled = compile(network + train, file)
    return next(iter(compiled.trains.values()))


def _errors(train: str, network: str = DBN) -> list[tuple[str, str]]:
    """(code, the source text under the caret) of every error."""
    text = network + train
    with pytest.raises(NetspecError) as caught:
        compile(text, "x.net")
    spans = [d.primary_span for d in caught.value.diagnostics]
    return [
        (d.code, text[s.start : s.end] if s else "")
        for d, s in zip(caught.value.diagnostics, spans, strict=True)
    ]


def test_dbn_pretrains_greedily_then_fine_tunes() -> None:
    plan = _plan("""train dbn {
        data = digits(test=0.25, seed=7)
        batch = 16
        stage pretrain { greedy = [h1, h2]  method = cd(k=2)  optimizer = sgd(lr=0.05) }
        stage finetune { optimizer = sgd(lr=0.1, momentum=0.9)  epochs = 30 }
    }""")
    assert (plan.network, plan.batch, plan.seed, plan.device, plan.precision) == (
        "dbn",
        16,
        0,
        "auto",
        "fp32",
    )
    assert (plan.data.source, plan.data.test, plan.data.val, plan.data.seed) == (
        "digits",
        0.25,
        0.0,
        7,
    )
    pre, fine = plan.stages
    assert (pre.name, pre.kind, pre.epochs, pre.steps, pre.batch) == (
        "pretrain",
        "pretrain",
        10,
        None,
        16,
    )
    assert [(g.unit, g.kind, g.method.name, dict(g.method.params)) for g in pre.greedy] == [
        ("h1", "rbm", "cd", {"k": 2, "sparsity": 0.0, "target": 0.05, "average": 0.0}),
        ("h2", "rbm", "cd", {"k": 2, "sparsity": 0.0, "target": 0.05, "average": 0.0}),
    ]
    assert dict(pre.optimizer.params) == {
        "lr": 0.05,
        "momentum": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
    }
    assert (fine.kind, fine.epochs, fine.greedy, fine.freeze) == ("supervised", 30, (), ())
    assert fine.optimizer.params["momentum"] == 0.9
    assert fine.schedule.name == "constant"


def test_a_section_without_stages_is_one_supervised_stage_with_defaults() -> None:
    plan = _plan("train dbn { data = digits }")
    (stage,) = plan.stages
    assert (stage.name, stage.kind, stage.epochs, stage.batch) == ("main", "supervised", 10, 32)
    assert stage.optimizer.name == "adam" and stage.optimizer.params["lr"] == 1e-3
    assert (stage.early_stop, stage.clip, stage.monitor, stage.weight_decay) == (
        None,
        None,
        "train",
        0.0,
    )
    assert plan.data.seed == 0


def test_stages_inherit_section_settings_and_a_stage_length_replaces_the_section_one() -> None:
    plan = _plan("""train dbn {
        data = digits(val=0.1)
        seed = 3
        batch = 64
        epochs = 5
        optimizer = adamw(weight_decay=0.05)
        schedule = cosine(warmup=100)
        early_stop = 4
        clip = 1.0
        device = cpu
        precision = bf16
        stage a { }
        stage b { steps = 500  batch = 8  schedule = step(every=100, gamma=0.5) }
    }""")
    a, b = plan.stages
    assert (a.epochs, a.steps, a.batch, a.schedule.name, a.early_stop, a.clip) == (
        5,
        None,
        64,
        "cosine",
        4,
        1.0,
    )
    assert (b.epochs, b.steps, b.batch, dict(b.schedule.params)) == (
        None,
        500,
        8,
        {"every": 100, "gamma": 0.5},
    )
    assert a.weight_decay == 0.05 and a.monitor == "val"
    assert (plan.seed, plan.data.seed, plan.device, plan.precision) == (3, 3, "cpu", "bf16")


def test_lets_and_bare_names_are_values() -> None:
    network = """network flowers {
        input measurements: [4]
        input species: class(3)
        y = softmax(measurements, 3)
        loss cross_entropy(y, species)
    }"""
    plan = _plan(
        "let rate = 0.2\nlet n = 7\ntrain flowers { data = iris  optimizer = "
        "sgd(lr=rate)  epochs = n  schedule = constant }",
        network,
    )
    assert plan.stages[0].optimizer.params["lr"] == 0.2 and plan.stages[0].epochs == 7


def test_a_missing_method_defaults_to_each_unit_kind_s_own() -> None:
    network = """network mix {
        input pixels: [64]
        a = rbm(pixels, 32)
        b = autoencoder(a, 16)
        c = sparse_code(b, 24)
    }"""
    plan = _plan("train mix { data = digits()  greedy = [a, b, c] }", network)
    (stage,) = plan.stages
    assert stage.kind == "pretrain"
    assert [(g.name, g.method.name, dict(g.method.params)) for g in stage.greedy] == [
        ("a", "cd", {"k": 1, "sparsity": 0.0, "target": 0.05, "average": 0.0}),
        ("b", "reconstruction", {"loss": "mse"}),
        ("c", "dictionary", {}),
    ]


BLOCKS = """
block layer() { input x  h = x -> rbm(32)  z = h -> dense(16)  output z }
network b {
    input pixels: [64]
    input digit: class(10)
    h1 = pixels -> layer()
    h2 = h1 -> rbm(16)
    y = h2 -> softmax(10)
    loss cross_entropy(y, digit)
}
"""


def test_block_sites_name_their_units_in_greedy_and_freeze() -> None:
    plan = _plan(
        """train b {
        data = digits()
        stage pre { greedy = [h1, h2] }
        stage frozen { freeze = [h1, y] }
    }""",
        BLOCKS,
    )
    pre, frozen = plan.stages
    assert [(g.unit, g.name) for g in pre.greedy] == [("h1.h", "h1.h"), ("h2", "h2")]
    assert frozen.freeze == ("h1.h", "h1.z", "y")


def test_features_are_split_between_inputs_whose_sizes_add_up() -> None:
    network = """network halves {
        input top: [32]
        input bottom: [32]
        input digit: class(10)
        y = concat(top, bottom) -> softmax(10)
        loss cross_entropy(y, digit)
    }"""
    bindings = _plan("train halves { data = digits() }", network).data.bindings
    assert [(b.field, b.input, b.role, b.part) for b in bindings] == [
        ("pixels", "top", "features", (0, 32)),
        ("pixels", "bottom", "features", (32, 64)),
        ("digit", "digit", "target", None),
    ]


@pytest.mark.parametrize("shape", ["[40]", "[1, 40]", "[T, 1]", "[40, 1]", "[T, 2]"])
def test_mnist1d_signals_fit_inputs_with_forty_values(shape: str) -> None:
    network = f"""network s {{
        input signal: {shape}
        input digit: class(10)
        y = signal -> flatten -> softmax(10)
        loss cross_entropy(y, digit)
    }}"""
    if "T" in shape:
        network = network.replace("flatten", "gru(8, steps=last)")
    (feed, label) = _plan("train s { data = mnist1d() }", network).data.bindings
    assert (feed.input, feed.type and str(feed.type), label.input) == ("signal", "[40]", "digit")


def test_a_two_class_target_feeds_a_binary_input_and_real_targets_a_real_one() -> None:
    logistic = """network lr {
        input cells: [30]
        input benign: binary
        p = logistic(cells)
        loss bce(p, benign)
    }"""
    assert _plan("train lr { data = breast_cancer() }", logistic).data.bindings[1].input == "benign"
    linear = """network lin {
        input x: [10]
        input progression: real
        y = linear(x, 1)
        loss mse(y, progression)
    }"""
    bindings = _plan("train lin { data = diabetes }", linear).data.bindings
    assert [(b.field, b.input) for b in bindings] == [
        ("measurements", "x"),
        ("progression", "progression"),
    ]


def test_file_sources_resolve_paths_and_leave_shapes_to_loading() -> None:
    plan = _plan(
        'train dbn { data = csv("digits.csv", target="label", val=0.1) }', file="specs/x.net"
    )
    assert plan.data.params["path"] == "specs/digits.csv"
    assert plan.data.params["target"] == "label"
    assert [(b.input, b.type) for b in plan.data.bindings] == [("pixels", None), ("digit", None)]
    npy = _plan('train dbn { data = npy("x.npy", target="y.npy") }', file="a/b.net").data
    assert (npy.params["path"], npy.params["target"]) == ("a/x.npy", "a/y.npy")


def _diagnostics(train: str) -> list[tuple[str, str, str | None]]:
    with pytest.raises(NetspecError) as caught:
        compile(DBN + train, "x.net")
    return [(d.code, d.message, d.help) for d in caught.value.diagnostics]


def test_string_parameters_bind_like_any_other_and_say_how_to_quote() -> None:
    assert _diagnostics("train dbn { data = csv(path=data) }") == [
        (
            "E403",
            "`path` of `csv` expects a string, but got `data`",
            'write it in double quotes: `path="data"`',
        )
    ]
    assert _diagnostics("train dbn { data = csv() }") == [
        ("E402", "`csv` is missing `path`: the file, relative to the spec", 'add `path="..."`')
    ]
    # A misspelt string keyword is one mistake: no second error for the parameter it stands for.
    assert [c for c, _, _ in _diagnostics('train dbn { data = csv(pth="a.csv") }')] == ["E401"]
    network = "network ae { input pixels: [64]  code = autoencoder(pixels, 32) }"
    plan = _plan('train ae { data = npy("x.npy", target=none)  greedy = [code] }', network)
    assert (plan.data.params["path"], plan.data.params["target"]) == ("x.npy", None)


def test_an_unsupervised_network_may_ignore_the_target() -> None:
    network = "network ae { input pixels: [64]  code = autoencoder(pixels, 32) }"
    plan = _plan("train ae { data = digits()  greedy = [code] }", network)
    assert [b.input for b in plan.data.bindings] == ["pixels"]


def test_plans_are_frozen_and_hashable() -> None:
    plan = _plan("train dbn { data = digits() }")
    with pytest.raises(AttributeError):
        plan.batch = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.data.params["test"] = 0.5  # type: ignore[index]
    assert hash(plan) == hash(_plan("train dbn { data = digits() }"))


@pytest.mark.parametrize(
    ("train", "code", "at"),
    [
        ("train dbm { data = digits() }", "E207", "dbm"),
        ("train dbn { data = digits()  epoch = 3 }", "E501", "epoch"),
        ("train dbn { data = digits()  lr = 0.1 }", "E501", "lr"),
        (
            "train dbn { data = digits()  stage a { greedy = [h1] }  freeze = [h1] }",
            "E501",
            "freeze",
        ),
        ("train dbn { data = digits()  stage a { seed = 1 } }", "E501", "seed"),
        ("train dbn { data = digitz() }", "E502", "digitz"),
        ("train dbn { data = digits()  optimizer = adamm() }", "E502", "adamm"),
        ("train dbn { data = digits()  schedule = cosinus() }", "E502", "cosinus"),
        ("train dbn { data = digits()  greedy = [h1]  method = cdk(k=1) }", "E502", "cdk"),
        ("train dbn { data = mnist1d() }", "E503", "mnist1d()"),
        ("train dbn { data = iris() }", "E503", "iris()"),
        ("train dbn { data = diabetes() }", "E503", "diabetes()"),
        ("train dbn { data = digits()  freeze = [h3] }", "E504", "h3"),
        ("train dbn { data = digits()  freeze = [pixels] }", "E504", "pixels"),
        ("train dbn { data = digits()  greedy = [h2, h1] }", "E504", "h1"),
        ("train dbn { data = digits()  greedy = [h1, y] }", "E505", "y"),
        ("train dbn { data = digits()  greedy = [h1]  method = reconstruction() }", "E505", "h1"),
        ("train dbn { data = digits()  freeze = [h1, h2, y] }", "E506", "[h1, h2, y]"),
        (
            "network ae { input pixels: [64]  code = autoencoder(pixels, 32) }\n"
            "train ae { data = digits() }",
            "E506",
            "ae",
        ),
        (
            "network r { input x: [4]  input s: class(4)  y = x -> relu  loss cross_entropy(y, s) }"
            "\ntrain r { data = iris }",
            "E506",
            "r",
        ),
        ("train dbn { data = digits()  stage a { }  stage a { } }", "E507", "a"),
        ("train dbn { data = digits()  batch = 1  batch = 2 }", "E507", "batch"),
        ("train dbn { data = digits()  freeze = [h1, h1] }", "E507", "h1"),
        ("train dbn { data = digits() }\ntrain dbn { data = iris() }", "E507", "dbn"),
        ("train dbn { data = digits()  batch = 0 }", "E508", "0"),
        ("train dbn { data = digits()  epochs = -1 }", "E508", "-1"),
        ("train dbn { data = digits()  epochs = 2.5 }", "E508", "2.5"),
        ("train dbn { data = digits()  device = gpu }", "E508", "gpu"),
        ("train dbn { data = digits()  precision = fp8 }", "E508", "fp8"),
        ("train dbn { data = digits()  clip = adam() }", "E508", "adam()"),
        ("train dbn { epochs = 3 }", "E508", "dbn"),
        ("train dbn { data = digits()  epochs = 3  steps = 4 }", "E508", "steps"),
        ("train dbn { data = digits(test=0.6, val=0.4) }", "E508", "digits(test=0.6, val=0.4)"),
        (
            "train dbn { data = digits()  optimizer = sgd(lr=0.1, nesterov=true) }",
            "E508",
            "sgd(lr=0.1, nesterov=true)",
        ),
        ('train dbn { data = digits()  optimizer = "adam" }', "E508", '"adam"'),
        ("train dbn { data = digits()  method = cd() }", "E508", "method"),
        ("train dbn { data = digits()  greedy = [h1]  freeze = [h2] }", "E508", "freeze"),
        ("train dbn { data = digits()  greedy = [] }", "E508", "[]"),
        ("train dbn { data = digits()  freeze = [h1, 2] }", "E508", "2"),
        ("train dbn { data = digits()  optimizer = sgd() }", "E402", "sgd()"),
        ("train dbn { data = digits(tset=0.1) }", "E401", "tset"),
        ("train dbn { data = digits(test=1.5) }", "E404", "1.5"),
        ("train dbn { data = csv(data.csv) }", "E102", "."),
        ("train dbn { data = csv(path=data) }", "E403", "data"),
        ('train dbn { data = csv("a", path="b") }', "E406", 'path="b"'),
        ('train dbn { data = csv("a", "b", 0.1, 0.1, 0, 9) }', "E405", "9"),
    ],
)
def test_errors_point_at_the_offending_text(train: str, code: str, at: str) -> None:
    assert (code, at) in _errors(train)


def test_each_mistake_is_reported_once_without_cascades() -> None:
    assert [
        c
        for c, _ in _errors(
            "train dbn { data = digits()  greedy = [h1, h2]  "
            "method = reconstruction()  optimizer = bogus() }"
        )
    ] == ["E505", "E502"]
    broken = DBN.replace("rbm(h1, 128)", "rbm(h1, 0)")
    assert [c for c, _ in _errors("train dbn { data = mnist1d()  greedy = [h2] }", broken)] == [
        "E404"
    ]
    assert [c for c, _ in _errors("train dbm { data = nope()  greedy = [zz] }")] == ["E207", "E502"]


def test_diagnostics_name_the_numbers_and_the_fix() -> None:
    with pytest.raises(NetspecError) as caught:
        compile(
            DBN.replace("[64]", "[1, 28, 28]").replace("rbm(pixels", "rbm(pixels -> flatten")
            + "train dbn { data = digits() }",
            "x.net",
        )
    (diag,) = caught.value.diagnostics
    assert "`[64]` (64 values)" in diag.message and "(784 values)" in diag.message
    assert diag.help is not None and "`[1, 8, 8]`" in diag.help
    assert [lb.message for lb in diag.labels] == ["gives [64]", "`pixels` declared here"]


def test_the_catalogues_are_complete_and_their_defaults_pass_their_own_checks() -> None:
    for table in (SOURCES, OPTIMIZERS, SCHEDULES, METHODS):
        for entry in table.values():
            assert entry.doc and "\n" not in entry.doc
            for spec in entry.params:
                if spec.check is not None and not spec.required and spec.default is not None:
                    assert spec.check(spec.default) is None, (entry.name, spec.name)
    for spec in SCALARS.values():
        assert spec.check is None or spec.default is None or spec.check(spec.default) is None
    assert method_kinds("cd") == method_kinds("pcd") == ("rbm",)
    assert method_kinds("reconstruction") == ("autoencoder",)
    assert method_kinds("dictionary") == ("sparse_code",)
    digits = SOURCES["digits"].fields({})
    assert [(f.name, f.role, str(f.type)) for f in digits] == [
        ("pixels", "features", "[64]"),
        ("digit", "target", "class(10)"),
    ]


def test_checking_a_train_section_does_not_import_torch() -> None:
    code = (
        "import sys\nfrom netspec.api import compile\n"
        f"compile({DBN + 'train dbn { data = digits() }'!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_freezing_a_name_freezes_its_whole_statement() -> None:
    compiled = compile(
        "network n { input x: [4]  input t: class(2)  h = x -> dense(8) -> dropout(0.1)\n"
        "  y = h -> softmax(2)  loss cross_entropy(y, t) }\n"
        "train n { data = blobs(features=4, classes=2)\n"
        "  stage a { optimizer = sgd(lr=0.1)  freeze = [h]  epochs = 1 } }",
        "x.net",
    )
    assert compiled.trains["n"].stages[0].freeze == ("h.dense",)
