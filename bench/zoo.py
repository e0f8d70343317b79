"""Train every zoo spec through the CLI and compare what it reaches with its reference.

    python bench/zoo.py [--only rbm dbn] [--seeds 3] [--jobs 2] [--readme specs/README.md]
                        [--table zoo.md] [--chart zoo.png] [--smoke]

Each spec runs as `netspec train SPEC` in its own process on one thread (OMP_NUM_THREADS=1),
as a learner would run it; its test metric is read from the run's manifest. A reference is a
published figure (with its source) or a baseline run in the same benchmark: the same spec with
its pretraining skipped, or with its auxiliary loss weighted 0. A row may add variants, the same
spec trained with other flags and reported beside it (a modality missing at test time). The
table (markdown) has one row per spec in the order a learner climbs the tree; a spec below its
reference by more than the seed noise (two standard deviations over the seeds, at least 0.5
points) is flagged MISS. Rows whose result is close to the reference run 3 seeds, the others
one (`--seeds` sets every row's). `--jobs 2` trains two runs at once, each on one thread; the
CPU time reported is each run's own. `--readme` rewrites the table between the markers of a
README. The chart puts reached and reference side by side. `--smoke` trains one step per stage
(a check of the benchmark itself, not a measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Row:
    spec: str
    concept: str
    look_at: str
    measure: str = "acc"  # the final metric read: `measure` or the first key ending in /<measure>
    reference: float | None = None  # a published figure, in the measure's units
    source: str = ""  # where the reference comes from
    baseline: tuple[str, ...] = ()  # CLI flags for a baseline run of the same spec
    idea: str = ""  # the concept in one line
    seeds: int = 1  # 3 where the result is close to the reference
    # Other runs of the spec reported beside it: (label, CLI flags).
    variants: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # A scikit-learn model fitted on the spec's own training split and scored on its test
    # split, as the reference: a key of FITS.
    fit: str = ""

    def higher_is_better(self) -> bool:
        return self.measure == "acc"


# The tree in the order a learner climbs it.
TREE = (
    Row(
        "linear_regression",
        "regression node",
        "W x + b and its squared error",
        "mse",
        idea="one weight per feature and a bias, fitted by least squares",
        fit="least_squares",
    ),
    Row(
        "logistic_regression",
        "logistic regression",
        "sigmoid link, binary cross-entropy",
        idea="a neuron: W x + b through a sigmoid, a probability",
        fit="logistic",
        seeds=3,
    ),
    Row(
        "softmax_regression",
        "softmax regression",
        "one score per class",
        idea="one neuron per class, softmax makes them a distribution",
        fit="logistic",
        seeds=3,
    ),
    Row(
        "mlp",
        "multilayer perceptron",
        "`explain --backward`: backpropagation",
        idea="neurons stacked with a nonlinearity, trained by backpropagation",
        fit="logistic",
    ),
    Row(
        "deep_sigmoid",
        "vanishing gradients",
        "plots/gradients.svg",
        baseline=("--skip-stage", "pretrain"),
        idea="deep sigmoid stacks barely learn from random weights; RBM pretraining starts them",
    ),
    Row(
        "rbm",
        "RBM features",
        "plots of the filters",
        reference=0.94,
        source="scikit-learn RBM gallery",
        idea="an undirected pair of layers learns features without labels",
    ),
    Row(
        "dbn",
        "deep belief net",
        "greedy stages",
        baseline=("--skip-stage", "pretrain"),
        idea="RBMs stacked and trained one layer at a time, then fine-tuned",
    ),
    Row(
        "autoencoder",
        "denoising autoencoder",
        "reconstructions",
        "reconstruction_bce",
        idea="rebuild the clean input from a corrupted one",
        fit="mean_image_bce",
    ),
    Row(
        "stacked_autoencoder",
        "stacked autoencoders",
        "greedy stages",
        baseline=("--skip-stage", "pretrain"),
        idea="autoencoders stacked greedily, the DBN recipe without sampling",
    ),
    Row(
        "sparse_coding",
        "sparse coding",
        "atoms",
        idea="each input as a few atoms of a learned dictionary",
        fit="logistic",
    ),
    Row(
        "patch_sparse_coding",
        "sparse coding of photos",
        "atoms: oriented edges",
        "recon",
        reference=0.700,
        source="PCA, 10 components (as many as active atoms)",
        idea="sparse codes of natural image patches find edge detectors (Olshausen & Field)",
    ),
    Row(
        "patch_rbm",
        "Gaussian RBM on photos",
        "filters: oriented edges",
        "reconstruction_mse",
        reference=0.0369,
        source="predicting the mean patch",
        idea="real-valued visible units; the filters of a sparse RBM on patches are edges",
    ),
    Row(
        "cnn",
        "convolutional network",
        "kernels",
        idea="the same small filters at every position of an image",
        fit="logistic",
    ),
    Row(
        "mnist1d_logistic",
        "MNIST-1D: logistic regression",
        "W: 10x40, one template per digit",
        reference=0.32,
        source="Greydanus 2020 (MNIST-1D)",
        idea="the linear baseline of a benchmark built to need nonlinear models",
        seeds=3,
    ),
    Row(
        "mnist1d_mlp",
        "MNIST-1D: MLP",
        "2 x 256 ReLU with dropout(0.5)",
        reference=0.68,
        source="Greydanus 2020 (MNIST-1D)",
        idea="nonlinearity doubles the linear model's accuracy",
        seeds=3,
    ),
    Row(
        "cnn1d",
        "MNIST-1D: CNN",
        "length 40 -> 19 -> 10 -> 5",
        reference=0.94,
        source="Greydanus 2020 (MNIST-1D)",
        idea="convolution's shared weights fit shifted, scaled signals",
        seeds=3,
    ),
    Row(
        "mnist1d_gru",
        "MNIST-1D: GRU",
        "states [40, 32]: both directions, every step",
        reference=0.91,
        source="Greydanus 2020 (MNIST-1D)",
        idea="a recurrent state read step by step",
        seeds=3,
    ),
    Row(
        "residual",
        "residual network",
        "the skip connection",
        idea="each block adds a learned correction to its input",
        fit="logistic",
    ),
    Row(
        "rnn",
        "recurrent network (GRU)",
        "the loop over t",
        idea="a state carried from step to step, gated",
        fit="logistic",
    ),
    Row(
        "lstm_text",
        "LSTM over text",
        "the cell c_t",
        reference=0.70,
        source="counting sentiment words",
        idea="word order matters: a `not` flips the next word",
    ),
    Row(
        "tagger",
        "part-of-speech tagger",
        "per-step softmax, padding masked",
        reference=0.859,
        source="majority tag per word, same test split",
        idea="a bidirectional GRU tags ambiguous words from their context",
    ),
    Row(
        "speech_phones",
        "DBN acoustic model",
        "Gaussian-visible first RBM",
        baseline=("--skip-stage", "pretrain"),
        idea="phone posteriors frame by frame from a window of log-mel frames",
        seeds=3,
    ),
    Row(
        "speech_words",
        "word recogniser",
        "log-mel frames",
        reference=0.84,
        source="nearest centroid, all frames",
        idea="a GRU hears a whole spoken word",
    ),
    Row(
        "multimodal",
        "multimodal DBN",
        "the joint layer; a modality missing",
        reference=0.984,
        source="single-modality DBN on the images (`dbn.net`)",
        idea="one digit seen and heard; a joint RBM over both views",
        variants=(
            ("sound missing", ("--set", "missing=sound")),
            ("image missing", ("--set", "missing=image")),
        ),
    ),
    Row(
        "multitask",
        "multi-task",
        "two losses, learned weights",
        baseline=("--set", "phonetic.weight=0"),
        idea="a low-level auxiliary task (phones) helps a small-data main task (words)",
        seeds=3,
    ),
)


def _metric(final: dict[str, float], measure: str) -> float:
    for key, value in final.items():
        if key.endswith("/" + measure) or key == measure:
            return float(value)
    raise KeyError(f"no final metric ending in /{measure}: {sorted(final)}")


def train(
    spec: str, flags: tuple[str, ...], seed: int, smoke: bool
) -> tuple[dict[str, float], float]:
    """(the final metrics of the manifest, CPU seconds) of one `netspec train` run: the CPU
    time of the process (user and system), so runs side by side do not inflate each other's."""
    with tempfile.TemporaryDirectory() as runs:
        command = [sys.executable, "-m", "netspec", "train", str(ROOT / "specs" / f"{spec}.net")]
        command += ["--runs", runs, "--quiet", *flags, *(["--smoke"] if smoke else [])]
        if seed:
            command += ["--set", f"seed={seed}"]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        with open(Path(runs) / "stderr.txt", "w+") as err:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"{' '.join(command)} failed:\n{err.read()}")
        (manifest,) = Path(runs).glob("*/manifest.json")
        return json.loads(manifest.read_text())["final"], usage.ru_utime + usage.ru_stime


def _least_squares(x: Any, y: Any, x_test: Any, y_test: Any) -> float:
    from sklearn.linear_model import LinearRegression  # type: ignore[import-untyped]

    model = LinearRegression().fit(x, y)
    return float(((model.predict(x_test) - y_test) ** 2).mean())


def _logistic(x: Any, y: Any, x_test: Any, y_test: Any) -> float:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=5000).fit(x, y)
    return float(model.score(x_test, y_test))


def _mean_image_bce(x: Any, y: Any, x_test: Any, y_test: Any) -> float:
    """Binary cross-entropy per pixel of rebuilding every test image as the training mean."""
    import numpy as np

    mean = np.clip(x.mean(axis=0), 1e-6, 1 - 1e-6)
    return float(-(x_test * np.log(mean) + (1 - x_test) * np.log(1 - mean)).mean())


# name -> (what the table calls it, fit(train x, train y, test x, test y) -> the row's measure;
# y is None for a network without a target)
FITS: dict[str, tuple[str, Callable[[Any, Any, Any, Any], float]]] = {
    "least_squares": ("least squares, scikit-learn", _least_squares),
    "logistic": ("logistic regression, scikit-learn", _logistic),
    "mean_image_bce": ("the mean training image", _mean_image_bce),
}


def fitted(spec: str, fit: str) -> float:
    """FITS[fit] on the spec's own data: its training split against its test split, the
    network's feature inputs flattened side by side."""
    import numpy as np

    from netspec.api import compile_file
    from netspec.data.loading import load
    from netspec.plan.catalog import TARGET

    compiled = compile_file(ROOT / "specs" / f"{spec}.net")
    graph = compiled.network()
    plan = compiled.trains[graph.name].data
    data = load(plan, graph)
    assert data.test is not None, f"{spec} holds out no test split"
    ids = {graph.node(i).label: i for i in data.train.arrays}
    target = next((ids[b.input] for b in plan.bindings if b.role == TARGET), None)
    features = [ids[b.input] for b in plan.bindings if b.role != TARGET]

    def split(arrays: Any) -> tuple[Any, Any]:
        x = np.concatenate([arrays[i].reshape(len(arrays[i]), -1) for i in features], axis=1)
        return x, None if target is None else arrays[target].reshape(len(x), -1).squeeze(1)

    return FITS[fit][1](*split(data.train.arrays), *split(data.test.arrays))


@dataclass
class Result:
    row: Row
    reached: list[float]
    baseline: list[float]
    seconds: float  # mean CPU-thread seconds of one run of the spec
    variants: dict[str, list[float]] = field(default_factory=dict)

    fitted: float | None = None  # the row's `fit` baseline
    failed: bool = False  # a run of it failed

    def reference(self) -> float | None:
        if self.row.reference is not None:
            return self.row.reference
        if self.fitted is not None:
            return self.fitted
        return statistics.mean(self.baseline) if self.baseline else None

    def missed(self) -> bool:
        if self.failed or not self.reached:
            return True
        ref = self.reference()
        if ref is None:
            return False
        floor = 0.005 if self.row.higher_is_better() else 0.01 * abs(ref)  # 0.5 points, 1 %
        noise = max(floor, 2 * statistics.pstdev(self.reached))
        mean = statistics.mean(self.reached)
        return mean < ref - noise if self.row.higher_is_better() else mean > ref + noise


def run(rows: list[Row], seeds: int | None, smoke: bool, jobs: int = 1) -> list[Result]:
    """Every row's runs (`seeds`: each row's own when None), `jobs` of them at once."""
    runs: list[tuple[Row, str, tuple[str, ...], int]] = []
    for row in rows:
        for seed in range(seeds or row.seeds):
            runs.append((row, "", (), seed))
            if row.baseline:
                runs.append((row, "baseline", row.baseline, seed))
            runs += [(row, label, flags, seed) for label, flags in row.variants]

    def one(r: tuple[Row, str, tuple[str, ...], int]) -> tuple[dict[str, float], float] | None:
        try:
            return train(r[0].spec, r[2], r[3], smoke)
        except RuntimeError as failed:  # reported, and the row flagged; the others go on
            print(failed, file=sys.stderr, flush=True)
            return None

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        done = list(pool.map(one, runs))
    results = []
    for row in rows:
        result = Result(row, [], [], 0.0, fitted=fitted(row.spec, row.fit) if row.fit else None)
        for (of, label, _, _), ran in zip(runs, done, strict=True):
            if of is not row:
                continue
            if ran is None:
                result.failed = True
                continue
            final, took = ran
            value = _metric(final, row.measure)
            if label == "":
                result.reached.append(value)
                result.seconds += took
            elif label == "baseline":
                result.baseline.append(value)
            else:
                result.variants.setdefault(label, []).append(value)
        result.seconds /= max(1, len(result.reached))
        results.append(result)
        print(_line(result), file=sys.stderr, flush=True)
    return results


def _figure(values: list[float], measure: str) -> str:
    if not values:
        return "-"
    scale, unit = (100, " %") if measure == "acc" else (1, "")
    mean = statistics.mean(values) * scale
    spread = f" ± {statistics.pstdev(values) * scale:.1f}" if len(values) > 1 else ""
    return f"{mean:.1f}{spread}{unit}" if measure == "acc" else f"{mean:.4g}{spread}"


def _line(r: Result) -> str:
    return f"{r.row.spec}: {_figure(r.reached, r.row.measure)} in {r.seconds:.0f} s"


def table(results: list[Result]) -> str:
    lines = [
        "| concept | spec | idea | look at | reached | reference | CPU time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if r.row.reference is not None:
            ref = f"{_figure([r.row.reference], r.row.measure)} ({r.row.source})"
        elif r.fitted is not None:
            ref = f"{_figure([r.fitted], r.row.measure)} ({FITS[r.row.fit][0]}, same split)"
        elif r.baseline:
            ref = f"{_figure(r.baseline, r.row.measure)} (`{' '.join(r.row.baseline)}`)"
        else:
            ref = "-"
        flag = " **FAILED**" if r.failed else " **MISS**" if r.missed() else ""
        seeds = f", {len(r.reached)} seeds" if len(r.reached) > 1 else ""
        reached = f"{_figure(r.reached, r.row.measure)} {r.row.measure}{seeds}{flag}"
        for label, values in r.variants.items():
            reached += f"; {label}: {_figure(values, r.row.measure)}"
        lines.append(
            f"| {r.row.concept} | [`{r.row.spec}.net`]({r.row.spec}.net) | {r.row.idea} "
            f"| {r.row.look_at} | {reached} | {ref} | {r.seconds:.0f} s |"
        )
    total = sum(r.seconds * (len(r.reached) > 0) for r in results)
    lines.append(f"\nOne run of every spec: {total / 60:.1f} CPU-thread minutes.")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- zoo table: bench/zoo.py -->", "<!-- end of the zoo table -->"


def into_readme(path: Path, text: str) -> None:
    """Replace the table between the README's markers (added at its end if it has none)."""
    old = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{text}{END}"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    new = pattern.sub(lambda m: block, old) if pattern.search(old) else old + block + "\n"
    path.write_text(new)


def chart(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [r for r in results if r.row.measure == "acc" and r.reached]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(scored)), 4))
    xs = range(len(scored))
    ax.bar(
        [x - 0.2 for x in xs],
        [100 * statistics.mean(r.reached) for r in scored],
        0.4,
        label="reached",
        color=["tab:red" if r.missed() else "tab:blue" for r in scored],
    )
    refs = [r.reference() for r in scored]
    ax.bar(
        [x + 0.2 for x in xs],
        [100 * v if v is not None else 0 for v in refs],
        0.4,
        label="reference",
        color="tab:grey",
    )
    ax.set_xticks(list(xs), [r.row.spec for r in scored], rotation=45, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="SPEC", help="only these specs")
    parser.add_argument(
        "--seeds", type=int, help="seeds per spec (default: each row's, 3 where close)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument("--table", type=Path, help="write the markdown table here")
    parser.add_argument("--readme", type=Path, help="rewrite the table inside this README")
    parser.add_argument("--chart", type=Path, help="write the PNG chart here")
    parser.add_argument("--smoke", action="store_true", help="one step per stage")
    args = parser.parse_args()
    known = {r.spec: r for r in TREE}
    missing = sorted(p.stem for p in (ROOT / "specs").glob("*.net") if p.stem not in known)
    if missing and not args.only:
        print(f"not in the tree yet (add a Row): {', '.join(missing)}", file=sys.stderr)
    rows = [known[s] for s in args.only] if args.only else list(TREE)
    results = run(rows, args.seeds, args.smoke, args.jobs)
    text = table(results)
    print(text, end="")
    if args.table:
        args.table.write_text(text)
    if args.readme:
        into_readme(args.readme, text)
    if args.chart:
        chart(results, args.chart)


if __name__ == "__main__":
    main()
