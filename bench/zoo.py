"""Train every zoo spec through the CLI and compare what it reaches with its reference.

    python bench/zoo.py [--only rbm dbn] [--seeds 3] [--table zoo.md] [--chart zoo.png] [--smoke]

Each spec runs as `netspec train SPEC` in its own process on one thread (OMP_NUM_THREADS=1),
as a learner would run it; its test metric is read from the run's manifest. A reference is a
published figure (with its source) or a baseline run in the same benchmark: the same spec with
its pretraining skipped, or with its auxiliary loss weighted 0. The table (markdown) has one row
per spec in the order a learner climbs the tree; a spec below its reference by more than the
seed noise (two standard deviations over the seeds, at least 0.5 points) is flagged MISS. The
chart puts reached and reference side by side. `--smoke` trains one step per stage (a check of
the benchmark itself, not a measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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

    def higher_is_better(self) -> bool:
        return self.measure == "acc"


# The tree in the order a learner climbs it.
TREE = (
    Row("linear_regression", "regression node", "W x + b and its squared error", "mse"),
    Row("logistic_regression", "logistic regression", "sigmoid link, binary cross-entropy"),
    Row("softmax_regression", "softmax regression", "one score per class"),
    Row("mlp", "multilayer perceptron", "`explain --backward`: backpropagation"),
    Row(
        "deep_sigmoid",
        "vanishing gradients",
        "plots/gradients.png",
        baseline=("--skip-stage", "pretrain"),
    ),
    Row(
        "rbm",
        "RBM features",
        "plots of the filters",
        reference=0.94,
        source="scikit-learn RBM gallery",
    ),
    Row("dbn", "deep belief net", "greedy stages", baseline=("--skip-stage", "pretrain")),
    Row("autoencoder", "denoising autoencoder", "reconstructions", "reconstruction_bce"),
    Row(
        "stacked_autoencoder",
        "stacked autoencoders",
        "greedy stages",
        baseline=("--skip-stage", "pretrain"),
    ),
    Row("sparse_coding", "sparse coding", "atoms"),
    Row("patch_sparse_coding", "sparse coding of photos", "atoms: oriented edges", "energy"),
    Row("cnn", "convolutional network", "kernels"),
    Row("cnn1d", "1-D convolution", "length 40 -> 19 -> 10 -> 5"),
    Row("residual", "residual network", "the skip connection"),
    Row("rnn", "recurrent network (GRU)", "the loop over t"),
    Row(
        "lstm_text",
        "LSTM over text",
        "the cell c_t",
        reference=0.70,
        source="counting sentiment words",
    ),
    Row(
        "speech_words",
        "word recogniser",
        "log-mel frames",
        reference=0.84,
        source="nearest centroid, all frames",
    ),
    Row("multimodal", "multimodal DBN", "the joint layer", baseline=("--skip-stage", "pretrain")),
    Row(
        "multitask", "multi-task", "two weighted losses", baseline=("--set", "reconstruct.weight=0")
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
    """(the final metrics of the manifest, seconds) of one `netspec train` run."""
    with tempfile.TemporaryDirectory() as runs:
        command = [sys.executable, "-m", "netspec", "train", str(ROOT / "specs" / f"{spec}.net")]
        command += ["--runs", runs, "--quiet", *flags, *(["--smoke"] if smoke else [])]
        if seed:
            command += ["--set", f"seed={seed}"]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
        (manifest,) = Path(runs).glob("*/manifest.json")
        return json.loads(manifest.read_text())["final"], seconds


@dataclass
class Result:
    row: Row
    reached: list[float]
    baseline: list[float]
    seconds: float

    def reference(self) -> float | None:
        if self.row.reference is not None:
            return self.row.reference
        return statistics.mean(self.baseline) if self.baseline else None

    def missed(self) -> bool:
        ref = self.reference()
        if ref is None:
            return False
        noise = max(0.005, 2 * statistics.pstdev(self.reached))  # one seed: 0.005
        mean = statistics.mean(self.reached)
        return mean < ref - noise if self.row.higher_is_better() else mean > ref + noise


def run(rows: list[Row], seeds: int, smoke: bool) -> list[Result]:
    results = []
    for row in rows:
        reached, baseline, seconds = [], [], 0.0
        for seed in range(seeds):
            final, took = train(row.spec, (), seed, smoke)
            reached.append(_metric(final, row.measure))
            seconds += took / seeds
            if row.baseline:
                base, _ = train(row.spec, row.baseline, seed, smoke)
                baseline.append(_metric(base, row.measure))
        results.append(Result(row, reached, baseline, seconds))
        print(_line(results[-1]), file=sys.stderr, flush=True)
    return results


def _figure(values: list[float], measure: str) -> str:
    scale, unit = (100, " %") if measure == "acc" else (1, "")
    mean = statistics.mean(values) * scale
    spread = f" ± {statistics.pstdev(values) * scale:.1f}" if len(values) > 1 else ""
    return f"{mean:.1f}{spread}{unit}" if measure == "acc" else f"{mean:.4g}{spread}"


def _line(r: Result) -> str:
    return f"{r.row.spec}: {_figure(r.reached, r.row.measure)} in {r.seconds:.0f} s"


def table(results: list[Result]) -> str:
    lines = [
        "| concept | spec | look at | reached | reference | CPU time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if r.row.reference is not None:
            ref = f"{_figure([r.row.reference], r.row.measure)} ({r.row.source})"
        elif r.baseline:
            ref = f"{_figure(r.baseline, r.row.measure)} (`{' '.join(r.row.baseline)}`)"
        else:
            ref = "-"
        flag = " **MISS**" if r.missed() else ""
        reached = f"{_figure(r.reached, r.row.measure)} {r.row.measure}{flag}"
        lines.append(
            f"| {r.row.concept} | `{r.row.spec}.net` | {r.row.look_at} | {reached} | {ref} "
            f"| {r.seconds:.0f} s |"
        )
    return "\n".join(lines) + "\n"


def chart(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [r for r in results if r.row.measure == "acc"]
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
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="SPEC", help="only these specs")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per spec (default 1)")
    parser.add_argument("--table", type=Path, help="write the markdown table here")
    parser.add_argument("--chart", type=Path, help="write the PNG chart here")
    parser.add_argument("--smoke", action="store_true", help="one step per stage")
    args = parser.parse_args()
    known = {r.spec: r for r in TREE}
    missing = sorted(p.stem for p in (ROOT / "specs").glob("*.net") if p.stem not in known)
    if missing and not args.only:
        print(f"not in the tree yet (add a Row): {', '.join(missing)}", file=sys.stderr)
    rows = [known[s] for s in args.only] if args.only else list(TREE)
    results = run(rows, args.seeds, args.smoke)
    text = table(results)
    print(text, end="")
    if args.table:
        args.table.write_text(text)
    if args.chart:
        chart(results, args.chart)


if __name__ == "__main__":
    main()
