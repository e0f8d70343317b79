"""Fault injection for `netspec train`: kill it, resume it, and demand the same weights.

Every case trains a tiny spec through the command line (`python -m netspec train SPEC --run-dir
D`), hurts it, continues it with `--resume D`, and compares every checkpoint of the finished run
with an uninterrupted reference run of the same spec and seed, tensor by tensor, bit for bit.

- `kill-mlp`, `kill-dbn`: SIGKILL at seeded random points after the first checkpoint, several
  kills per run; about half of them the moment a temporary file of an atomic write (a checkpoint,
  the manifest, the metrics) appears, so they land between its `open` and its `os.replace`. A kill
  counts as mid-write when that `.tmp` file is still there after the process died. `dbn` has a
  greedy RBM pretraining stage before its supervised one.
- `kill-before-first-checkpoint`: SIGKILL once the run folder exists but no checkpoint does.
- `sigint`, `sigterm`: the stop signals must end the run with exit 130 / 143 and a checkpoint.
- `full-disk`: the resumed child runs under RLIMIT_FSIZE (a file may not grow past 64 KiB; the
  checkpoint is bigger), SIGXFSZ ignored, so its checkpoint write fails with EFBIG as on a full
  disk. It must exit 1 with a message and no traceback, leave the previous checkpoint as it was,
  and resume without the limit to the reference weights.
- `nan`: a learning rate of 1e6 must end training with a message, exit 1, no traceback.

Any "Traceback" in a child's stderr fails its case. Run: `python bench/faults.py` (24 kills),
`--quick` (6 kills), `--kills N`, `--seed S`, `--cases kill-mlp,nan`. Exits 1 when a case fails.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from safetensors.numpy import load_file

TRACEBACK = "Traceback (most recent call last)"
SEED = "0"  # the training seed of every run; --seed of this script drives the fault points
FSIZE_LIMIT = 64 * 1024  # bytes: above the metrics and manifest, below one checkpoint

MLP = """\
network mlp {
    input pixels: [64]
    input digit: class(10)
    h = pixels -> dense(512, act=relu) -> dropout(0.2) -> dense(256, act=relu)
    y = softmax(h, 10)
    loss cross_entropy(y, digit)
}
train mlp {
    data = digits(test=0.2, seed=0)
    batch = 64
    optimizer = adam(lr=0.001)
    epochs = 6
}
"""

DBN = """\
network dbn {
    input pixels: [64]
    input digit: class(10)
    h1 = rbm(pixels, 128)
    h2 = rbm(h1, 64)
    y = softmax(h2, 10)
    loss cross_entropy(y, digit)
}
train dbn {
    data = digits(test=0.2, seed=0)
    batch = 64
    stage pretrain {
        greedy = [h1, h2]
        method = pcd(k=1)
        optimizer = sgd(lr=0.1, momentum=0.5)
        epochs = 2
    }
    stage finetune {
        optimizer = sgd(lr=0.05, momentum=0.9)
        epochs = 3
    }
}
"""

NAN = MLP.replace("adam(lr=0.001)", "sgd(lr=1000000.0)")


@dataclass
class Outcome:
    """One case's row of the table."""

    case: str
    kills: int = 0
    mid_write: int = 0
    mid_checkpoint: int = 0  # of those, kills while a checkpoint (.safetensors) was written
    compared: int = 0  # finished runs compared with the reference
    identical: int = 0
    exit_codes: list[int] = field(default_factory=list)
    tracebacks: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and not self.tracebacks and self.identical == self.compared


class Lab:
    """A scratch folder with the specs, one log file per child process, and reference runs."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.specs = {"mlp": MLP, "dbn": DBN, "nan": NAN}
        for name, text in self.specs.items():
            (root / f"{name}.net").write_text(text, encoding="utf-8")
        self.children = 0
        self.references: dict[str, Path] = {}
        self.timeline: dict[str, tuple[float, float]] = {}  # training start and end, from spawn

    def spec(self, name: str) -> str:
        return str(self.root / f"{name}.net")

    def start(self, args: Sequence[str], fsize: int | None = None) -> Child:
        self.children += 1
        return Child(args, self.root / f"child-{self.children}", self.root, fsize)

    def reference(self, name: str) -> Path:
        """The uninterrupted run, and when (from spawn) training began and ended in it."""
        if name not in self.references:
            run = self.root / f"reference-{name}"
            child = self.start([self.spec(name), "--run-dir", str(run), "--seed", SEED, "--quiet"])
            began, ended = _watch_timeline(child, run)
            if child.wait() != 0 or child.traceback():
                raise SystemExit(f"the reference run of {name} failed:\n{child.stderr()}")
            self.references[name] = run
            self.timeline[name] = (began, ended)
        return self.references[name]


class Child:
    """`python -m netspec train ...` with its output in files (a pipe could fill and block it)."""

    def __init__(self, args: Sequence[str], log: Path, cwd: Path, fsize: int | None) -> None:
        self.log = log
        env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
        with open(f"{log}.out", "wb") as out, open(f"{log}.err", "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "netspec", "train", *args],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=err,
                preexec_fn=None if fsize is None else _limit_file_size(fsize),
            )
        self.spawned = time.monotonic()
        self.pid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self) -> int:
        return self.proc.wait()

    def stderr(self) -> str:
        return Path(f"{self.log}.err").read_text(encoding="utf-8", errors="replace")

    def stdout(self) -> str:
        return Path(f"{self.log}.out").read_text(encoding="utf-8", errors="replace")

    def traceback(self) -> bool:
        return TRACEBACK in self.stderr() or TRACEBACK in self.stdout()

    def message(self) -> str:
        """What the user was told: the diagnostics' headlines and help lines, else the last
        non-empty stderr lines."""
        lines = [line.strip() for line in self.stderr().splitlines() if line.strip()]
        said = [line for line in lines if line.startswith(("error[", "= help", "= note"))]
        return " / ".join(said or lines[-3:])


def _limit_file_size(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


# --- watching a child ----------------------------------------------------------------------------


def _temp_files(run: Path, pid: int, kind: str = "") -> set[Path]:
    """The child's temporary files of `write_atomic` (`.<name><kind>.<pid>.tmp`) right now."""
    tag = f"{kind}.{pid}.tmp"
    found: set[Path] = set()
    for folder in (run, run / "checkpoints"):
        try:
            with os.scandir(folder) as entries:
                found.update(Path(e.path) for e in entries if e.name.endswith(tag))
        except FileNotFoundError:
            pass
    return found


def _watch_timeline(child: Child, run: Path) -> tuple[float, float]:
    """Seconds from spawn until the manifest appeared and until the last checkpoint of training
    was written (the first moment `after-*` checkpoints stop changing is the end of training)."""
    began = ended = 0.0
    seen: dict[str, float] = {}
    while child.alive():
        now = time.monotonic() - child.spawned
        if not began and (run / "manifest.json").exists():
            began = now
        for path in (run / "checkpoints").glob("*.safetensors"):
            mtime = path.stat().st_mtime
            if seen.get(path.name) != mtime:
                seen[path.name] = mtime
                ended = now
        time.sleep(0.005)
    return began, max(ended, began)


def _kill(
    child: Child, run: Path, at_write: int | None, at_time: float, kind: str = ""
) -> list[Path] | None:
    """SIGKILL `child` once its run has a checkpoint: at the (at_write + 1)-th appearance of one
    of its temporary files (of names ending `kind`), or else `at_time` seconds after spawn.
    Returns the temporary files left behind (a mid-write kill), or None when the child ended
    first."""
    last = run / "checkpoints" / "last.safetensors"
    before: set[Path] = set()
    appeared = 0
    while child.alive():
        if not last.exists():
            time.sleep(0.002)
            continue
        if at_write is None:
            if time.monotonic() - child.spawned >= at_time:
                break
            time.sleep(0.002)
            continue
        now = _temp_files(run, child.pid, kind)
        appeared += len(now - before)
        before = now
        if appeared > at_write:
            break
        time.sleep(0.0001)  # yield the core to the child (it may be the only one)
    else:
        return None
    child.proc.send_signal(signal.SIGKILL)  # Popen sends nothing to a process it has reaped
    child.wait()
    if child.proc.returncode != -signal.SIGKILL:
        return None  # it finished before the signal
    return sorted(_temp_files(run, child.pid))


def _same_weights(run: Path, reference: Path) -> list[str]:
    """Every checkpoint of the reference, compared tensor by tensor with the run's: the names of
    those that differ (or are missing)."""
    differ = []
    for ref_file in sorted((reference / "checkpoints").glob("*.safetensors")):
        mine = run / "checkpoints" / ref_file.name
        if not mine.exists():
            differ.append(f"{ref_file.name} missing")
            continue
        a, b = load_file(str(mine)), load_file(str(ref_file))
        if a.keys() != b.keys():
            differ.append(f"{ref_file.name}: tensor names differ")
            continue
        for key in sorted(a):
            x, y = a[key], b[key]
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                differ.append(f"{ref_file.name}:{key}")
    return differ


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the cases -----------------------------------------------------------------------------------


def _finish(lab: Lab, out: Outcome, name: str, run: Path, child: Child | None = None) -> None:
    """Resume `run` to its end (unless `child` already is that resume) and compare."""
    if child is None:
        child = lab.start([lab.spec(name), "--resume", str(run)])
    code = child.wait()
    out.exit_codes.append(code)
    out.tracebacks += child.traceback()
    if code != 0:
        out.failures.append(f"resume of {run.name} exited {code}: {child.message()}")
        return
    out.compared += 1
    differ = _same_weights(run, lab.reference(name))
    if differ:
        out.failures.append(f"{run.name} differs from the reference: {', '.join(differ[:5])}")
    else:
        out.identical += 1
    stale = [p.name for p in run.rglob("*.tmp")]
    if stale:
        out.notes.append(f"{run.name}: stale temporary files after the finish: {', '.join(stale)}")


def kill_case(lab: Lab, name: str, kills: int) -> Outcome:
    """`kills` SIGKILLs spread over runs of 2-6 kills each (a finishing process, with its
    evaluation and plots, costs more than a killed one); each run then resumes to its end."""
    out = Outcome(f"kill-{name}")
    lab.reference(name)
    began, ended = lab.timeline[name]
    chain = 0
    while out.kills < kills and chain < 3 * kills:
        chain += 1
        run = lab.root / f"{name}-{chain}"
        budget = min(kills - out.kills, lab.rng.randint(2, 6))
        child = lab.start([lab.spec(name), "--run-dir", str(run), "--seed", SEED, "--quiet"])
        landed = 0
        while landed < budget:
            at_write = lab.rng.randint(0, 3) if lab.rng.random() < 0.5 else None
            kind = lab.rng.choice(["", ".safetensors"])  # any atomic write, or a checkpoint's
            left = _kill(child, run, at_write, lab.rng.uniform(began, ended), kind)
            if left is None:
                break  # the child ended before the kill; it is the run's last process
            landed += 1
            out.kills += 1
            out.exit_codes.append(-signal.SIGKILL)
            out.tracebacks += child.traceback()
            if left:
                out.mid_write += 1
                out.mid_checkpoint += any(".safetensors." in p.name for p in left)
                out.notes.append(f"{run.name}: killed writing {', '.join(p.name for p in left)}")
            child = lab.start([lab.spec(name), "--resume", str(run)])
        _finish(lab, out, name, run, child)
    return out


def before_first_checkpoint_case(lab: Lab) -> Outcome:
    out = Outcome("kill-before-first-checkpoint")
    run = lab.root / "early"
    child = lab.start([lab.spec("mlp"), "--run-dir", str(run), "--seed", SEED, "--quiet"])
    while child.alive() and not (run / "manifest.json").exists():
        time.sleep(0.001)
    child.proc.send_signal(signal.SIGKILL)
    child.wait()
    if (run / "checkpoints" / "last.safetensors").exists():
        out.notes.append("early: the first checkpoint was written before the kill landed")
    out.kills += 1
    out.exit_codes.append(child.proc.returncode)
    _finish(lab, out, "mlp", run)
    return out


def signal_case(lab: Lab, sig: signal.Signals) -> Outcome:
    """A stop signal after the first checkpoint: exit 128 + n, a checkpoint, an exact resume."""
    out = Outcome(sig.name.lower())
    expected = 128 + int(sig)
    run = lab.root / sig.name.lower()
    child = lab.start([lab.spec("mlp"), "--run-dir", str(run), "--seed", SEED, "--quiet"])
    while child.alive() and not (run / "checkpoints" / "last.safetensors").exists():
        time.sleep(0.002)
    time.sleep(lab.rng.uniform(0.0, 0.2))
    child.proc.send_signal(sig)
    code = child.wait()
    out.exit_codes.append(code)
    out.tracebacks += child.traceback()
    said = (child.stdout() + child.stderr()).strip().splitlines()
    out.notes.append(f"{sig.name}: said {' / '.join(said[-2:])!r}")
    if code != expected:
        out.failures.append(f"{sig.name} gave exit {code}, not {expected}")
    _finish(lab, out, "mlp", run)
    return out


def full_disk_case(lab: Lab) -> Outcome:
    out = Outcome("full-disk")
    run = lab.root / "disk"
    first = lab.start([lab.spec("mlp"), "--run-dir", str(run), "--seed", SEED, "--max-steps", "30"])
    out.exit_codes.append(first.wait())
    last = run / "checkpoints" / "last.safetensors"
    if out.exit_codes[-1] != 0 or not last.exists():
        out.failures.append(f"the first 30 steps failed: {first.message()}")
        return out
    before = _digest(last)
    full = lab.start([lab.spec("mlp"), "--resume", str(run)], fsize=FSIZE_LIMIT)
    code = full.wait()
    out.exit_codes.append(code)
    out.tracebacks += full.traceback()
    out.notes.append(f"full disk: said {full.message()!r}")
    if code != 1:
        out.failures.append(f"the write failure gave exit {code}, not 1")
    if _digest(last) != before:
        out.failures.append("the previous checkpoint changed")
    _finish(lab, out, "mlp", run)
    return out


def nan_case(lab: Lab) -> Outcome:
    out = Outcome("nan")
    run = lab.root / "nan"
    child = lab.start([lab.spec("nan"), "--run-dir", str(run), "--seed", SEED, "--quiet"])
    code = child.wait()
    out.exit_codes.append(code)
    out.tracebacks += child.traceback()
    out.notes.append(f"nan: said {child.message()!r}")
    if code != 1:
        out.failures.append(f"a diverging loss gave exit {code}, not 1")
    return out


# --- the report ----------------------------------------------------------------------------------


def table(outcomes: Sequence[Outcome]) -> str:
    lines = [
        "| case | kills | kills mid-write (of a checkpoint) | resumes bitwise identical "
        "| exit codes seen "
        "| tracebacks | result | time |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- | ---: |",
    ]
    for o in outcomes:
        codes = ", ".join(str(c) for c in sorted(set(o.exit_codes)))
        lines.append(
            f"| {o.case} | {o.kills} | {o.mid_write} ({o.mid_checkpoint}) "
            f"| {o.identical}/{o.compared} | {codes} "
            f"| {o.tracebacks} | {'ok' if o.ok else '**FAIL**'} | {o.seconds:.0f} s |"
        )
    return "\n".join(lines)


CASES = (
    "kill-mlp",
    "kill-dbn",
    "kill-before-first-checkpoint",
    "sigint",
    "sigterm",
    "full-disk",
    "nan",
)


def run(
    kills: int, seed: int, cases: Sequence[str], root: Path, progress: bool = False
) -> list[Outcome]:
    """Each case in turn; with `progress`, print each row as its case ends (a long run that is
    stopped early still reports the cases it finished)."""
    lab = Lab(root, random.Random(seed))
    mlp_kills = kills - kills // 3 if "kill-dbn" in cases else kills
    jobs: dict[str, Callable[[], Outcome]] = {
        "kill-mlp": lambda: kill_case(lab, "mlp", mlp_kills),
        "kill-dbn": lambda: kill_case(lab, "dbn", kills - mlp_kills),
        "kill-before-first-checkpoint": lambda: before_first_checkpoint_case(lab),
        "sigint": lambda: signal_case(lab, signal.SIGINT),
        "sigterm": lambda: signal_case(lab, signal.SIGTERM),
        "full-disk": lambda: full_disk_case(lab),
        "nan": lambda: nan_case(lab),
    }
    outcomes = []
    for case in cases:
        began = time.monotonic()
        outcome = jobs[case]()
        outcome.seconds = time.monotonic() - began
        outcomes.append(outcome)
        if progress:
            print(table([outcome]).splitlines()[-1], flush=True)
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=24, help="SIGKILLs in all (default 24)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault points")
    parser.add_argument("--quick", action="store_true", help="6 kills")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; choose from {', '.join(CASES)}")
    kills = 6 if args.quick else args.kills
    began = time.monotonic()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        outcomes = run(kills, args.seed, cases, args.keep, progress=True)
    else:
        with tempfile.TemporaryDirectory(prefix="netspec-faults-") as scratch:
            outcomes = run(kills, args.seed, cases, Path(scratch), progress=True)
    print(table(outcomes))
    for o in outcomes:
        for line in o.failures:
            print(f"FAIL {o.case}: {line}")
        for line in o.notes:
            print(f"note {o.case}: {line}")
    total = sum(o.kills for o in outcomes)
    mid = sum(o.mid_write for o in outcomes)
    ckpt = sum(o.mid_checkpoint for o in outcomes)
    print(
        f"{total} kills, {mid} mid-write ({ckpt} of a checkpoint), "
        f"{time.monotonic() - began:.0f} s in all"
    )
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
