"""Greedy pretraining accuracy: zoo specs trained by the real trainer, test accuracy on digits.

    .venv/bin/python bench/pretrain.py           # --only rbm dbn --threads 2 --keep runs-bench

Each case is `netspec.train(compile_file(spec), TrainOptions(quiet=True, ...))` in a run folder
under a temporary directory (or --keep DIR), exactly as `netspec train` runs it:

  rbm                  specs/rbm.net, RBM features + softmax regression on the nudged digits
                       (scikit-learn's gallery recipe: 94 % published, 78 % on raw pixels)
  dbn                  specs/dbn.net, a deep belief net fine-tuned on the digits
  stacked_autoencoder  specs/stacked_autoencoder.net, stacked denoising autoencoders, fine-tuned
  dbn_no_pretrain      the DBN network with its pretraining stage removed, the same fine-tuning
                       from random weights: the pretrained DBN must beat it, in the same run

Prints a table (spec, test accuracy, target, wall time) and exits 1 when a target is missed or a
case cannot run (a spec the trainer refuses, such as greedy stages before they are supported).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netspec.api import Compiled, compile  # noqa: E402
from netspec.diagnostics.core import NetspecError  # noqa: E402
from netspec.lang import ast  # noqa: E402  (after the path set-up, so it runs from a checkout)
from netspec.lang.parser import parse  # noqa: E402
from netspec.lang.printer import format_module  # noqa: E402

BASELINE = "dbn_no_pretrain"


@dataclass(frozen=True)
class Case:
    name: str
    label: str  # how the table names the spec
    spec: Path
    target: float | None  # the least test accuracy that passes
    strip: str | None = None  # a stage to remove from the spec first

    def text(self) -> str:
        text = self.spec.read_text(encoding="utf-8")
        return text if self.strip is None else without_stage(text, self.strip, str(self.spec))


@dataclass
class Outcome:
    case: Case
    accuracy: float | None = None
    seconds: float = 0.0
    error: str | None = None
    run_dir: Path | None = None


SPECS = ROOT / "specs"
CASES = (
    Case("rbm", "specs/rbm.net", SPECS / "rbm.net", 0.94),
    Case("dbn", "specs/dbn.net", SPECS / "dbn.net", 0.975),
    Case(
        "stacked_autoencoder",
        "specs/stacked_autoencoder.net",
        SPECS / "stacked_autoencoder.net",
        0.975,
    ),
    Case(BASELINE, "specs/dbn.net without `pretrain`", SPECS / "dbn.net", None, strip="pretrain"),
)


def without_stage(text: str, stage: str, file: str) -> str:
    """The spec with the stage named `stage` removed from its `train` sections (reformatted)."""
    module = parse(text, file)
    items: list[ast.Item] = []
    removed = False
    for item in module.items:
        if isinstance(item, ast.Train):
            body = tuple(
                s for s in item.body if not (isinstance(s, ast.Stage) and s.name.text == stage)
            )
            removed |= len(body) != len(item.body)
            item = dataclasses.replace(item, body=body)
        items.append(item)
    if not removed:
        raise ValueError(f"{file} has no stage `{stage}`")
    # Comments are dropped: their places refer to the text as it was.
    return format_module(dataclasses.replace(module, items=tuple(items), comments=()))


def run(case: Case, root: Path, threads: int, plots: bool) -> Outcome:
    from netspec.training.run import TrainError, TrainOptions, train
    from netspec.training.runs import RunError

    outcome = Outcome(case)
    start = time.perf_counter()
    try:
        compiled: Compiled = compile(case.text(), str(case.spec))
        options = TrainOptions(
            runs_root=root / case.name,
            threads=threads,
            quiet=True,
            plots=plots,
            drawing=plots,
            argv=["bench/pretrain.py", case.name],
        )
        result = train(compiled, options)
    except (TrainError, RunError) as exc:
        outcome.error = str(exc)
    except NetspecError as exc:
        outcome.error = "; ".join(d.message for d in exc.diagnostics)
    else:
        accuracy = [v for k, v in result.metrics.items() if k.endswith("/acc")]
        if result.split != "test" or len(accuracy) != 1:
            outcome.error = f"no single test accuracy in {sorted(result.metrics)}"
        else:
            outcome.accuracy = float(accuracy[0])
        outcome.run_dir = result.run_dir
    outcome.seconds = time.perf_counter() - start
    return outcome


def verdicts(outcomes: dict[str, Outcome]) -> tuple[dict[str, str], list[str]]:
    """Each case's target as the table shows it, and the lines of what was missed."""
    shown: dict[str, str] = {}
    missed: list[str] = []
    base = outcomes.get(BASELINE)
    for name, o in outcomes.items():
        case = o.case
        goals = [f">= {case.target:.1%}"] if case.target is not None else []
        if name == "dbn" and base is not None:
            goals.append("> no pretrain")
        if name == BASELINE:
            goals.append("below dbn" if "dbn" in outcomes else "(reference)")
        shown[name] = ", ".join(goals)
        if o.error is not None:
            missed.append(f"{name}: {o.error}")
            continue
        assert o.accuracy is not None
        if case.target is not None and o.accuracy < case.target:
            missed.append(f"{name}: test accuracy {o.accuracy:.2%} < {case.target:.1%}")
    dbn = outcomes.get("dbn")
    pair = (dbn.accuracy, base.accuracy) if dbn is not None and base is not None else (None, None)
    if pair[0] is not None and pair[1] is not None and pair[0] <= pair[1]:
        missed.append(
            f"dbn: {pair[0]:.2%} does not beat the same network without pretraining ({pair[1]:.2%})"
        )
    return shown, missed


def table(outcomes: dict[str, Outcome], shown: dict[str, str]) -> str:
    rows = [("case", "spec", "test accuracy", "target", "wall time")]
    for name, o in outcomes.items():
        acc = f"{o.accuracy:.2%}" if o.accuracy is not None else "-"
        rows.append((name, o.case.label, acc, shown[name], f"{o.seconds:.1f} s"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for r in rows:
        cells = [
            r[i].ljust(widths[i]) if i in (0, 1, 3) else r[i].rjust(widths[i]) for i in range(5)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [c.name for c in CASES]
    parser.add_argument("--only", nargs="+", choices=names, metavar="CASE", help=", ".join(names))
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per run (default 1)")
    parser.add_argument(
        "--keep", metavar="DIR", help="keep the run folders (with plots) in DIR, not a temp folder"
    )
    args = parser.parse_args(argv)
    chosen = [c for c in CASES if args.only is None or c.name in args.only]
    outcomes: dict[str, Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="netspec-bench-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        for case in chosen:
            print(f"{case.name}: training {case.label} ...", flush=True)
            outcomes[case.name] = o = run(case, root, args.threads, plots=bool(args.keep))
            result = f"{o.accuracy:.2%}" if o.accuracy is not None else f"failed: {o.error}"
            print(f"{case.name}: {result} in {o.seconds:.1f} s", flush=True)
    shown, missed = verdicts(outcomes)
    print()
    print(table(outcomes, shown))
    for line in missed:
        print("MISSED:", line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
