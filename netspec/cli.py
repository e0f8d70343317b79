"""The `netspec` command line: check, explain, draw, fmt, train, eval, export, sample and compare.
Exit 0 on success, 1 when the spec has errors (or, when training, the data or the loss do), 2 on
usage errors, 3 on an internal error (a bug: a crash log is written; `NETSPEC_TRACEBACK=1` shows
the traceback instead). Every error is a coded diagnostic. Only `train` and `eval` import torch,
and only once the spec has been checked."""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from netspec import __version__
from netspec.api import Compiled, compile, total_params
from netspec.diagnostics.codes import CODES
from netspec.diagnostics.codes import explain as explain_code
from netspec.diagnostics.core import NetspecError, did_you_mean
from netspec.diagnostics.crash import report_internal_error, wants_traceback
from netspec.diagnostics.failure import Failure
from netspec.diagnostics.render import render_json, render_short, render_text
from netspec.ir import Graph, Role
from netspec.lang.collector import collector_paused
from netspec.lang.parser import parse
from netspec.lang.printer import format_module
from netspec.lang.source import Sources
from netspec.plan.databind import data_line
from netspec.plan.resources import estimate
from netspec.plan.resources import warning as memory_warning
from netspec.views import explain
from netspec.views.draw import UNTIPPED, VIEWS, draw
from netspec.views.equations import listing
from netspec.views.gradient_colors import GradientError, GradientRecord, read_gradients
from netspec.views.render_dot import FORMATS, RenderError, render

# Exit status when the reader of stdout went away (`netspec check FILE | head -1`): 128 + SIGPIPE,
# what the shell reports for any Unix tool that a closed pipe stops, such as `yes | head -1`.
# Not 0, which would claim the whole output arrived (a cut-off `draw -o -`), and not 1, which
# here means the spec has errors.
BROKEN_PIPE_STATUS = 141


class _Usage(Failure):
    """A usage error: a coded diagnostic on stderr, exit status 2."""

    code = "E730"


class _Parser(argparse.ArgumentParser):
    """argparse, its errors reported as diagnostics like every other error (E730, exit 2)."""

    def error(self, message: str) -> NoReturn:
        usage = self.format_usage().strip()
        raise _Usage(message, help=f"`{self.prog} --help` lists the options", note=usage)


# Commands that only compile and print: the cycle collector is paused while they run, and the
# program exits without freeing their objects one by one (see `program`).
COMPILE_ONLY = frozenset({"check", "explain", "draw", "fmt", "diff"})


def program() -> NoReturn:
    """The `netspec` program: `main` on the process's arguments, then exit with its status.

    After a compile-only command the process ends at once (`os._exit`, once stdout and stderr are
    flushed) instead of tearing down every AST and graph object, as mypy does: on a 20,000-unit
    spec that teardown was half a second. Nothing is left to do at that point: such a command
    writes its files itself, and registers no exit handler.
    """
    status = main()
    if _command_name(sys.argv[1:]) in COMPILE_ONLY:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            _discard_stdout()
            status = status or BROKEN_PIPE_STATUS
        os._exit(status)
    sys.exit(status)


def _command_name(argv: Sequence[str]) -> str | None:
    """The subcommand named on a command line (its first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status; a closed stdout ends it quietly."""
    words = sys.argv[1:] if argv is None else argv
    try:
        try:
            if _command_name(words) in COMPILE_ONLY:
                # These allocate a large AST and graph and free almost nothing until they end:
                # collections would only walk them again and again (a fifth of `check`'s time
                # on large specs). The collector's state is restored on return.
                with collector_paused():
                    return _command(argv)
            return _command(argv)
        finally:
            sys.stdout.flush()  # so a closed pipe raises here, not in a traceback at exit
    except BrokenPipeError:  # the CLI writes to no pipe but stdout and stderr
        _discard_stdout()
        return BROKEN_PIPE_STATUS
    except Exception as exc:  # a bug: one line and a crash log, never a bare traceback
        if wants_traceback():
            raise
        return report_internal_error(exc, ["netspec", *words], sys.stderr)


def _discard_stdout() -> None:
    """Point stdout at the null device: the interpreter flushes stdout once more at exit, and
    what is left in its buffer would raise a second BrokenPipeError there."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, sys.stdout.fileno())
    finally:
        os.close(null)


def _command(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = argparse.Namespace()  # until the command line parses: human diagnostics
    try:
        args = parser.parse_args(argv)
        args.argv = ["netspec", *(sys.argv[1:] if argv is None else argv)]  # for the manifest
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return 2
        return int(args.run(args))
    except _Usage as exc:
        _report(NetspecError([exc.diagnostic]), args)
        return 2
    except NetspecError as exc:
        _report(exc, args)
        return 1
    except Failure as exc:  # a data file, checkpoint, run folder or machine problem
        _report(NetspecError([exc.diagnostic]), args)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="netspec",
        description="Compile, check, explain, format and train .net network specs.",
    )
    parser.add_argument("--version", action="version", version=f"netspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="check a spec; print its units, shapes and parameters",
        description="Check a spec for every error, then print each network's "
        "units with output shapes and parameter counts.",
    )
    _spec_options(check)
    check.set_defaults(run=_check)

    new = sub.add_parser(
        "new",
        help="write a commented starter spec for a concept of the tree",
        description="Write the zoo's spec for CONCEPT (a spec name such as `dbn`, or a unit "
        "kind such as `gru`) as a starting point: it opens with a comment that teaches the "
        "concept and trains as written. Without CONCEPT, list the concepts.",
    )
    new.add_argument("concept", metavar="CONCEPT", nargs="?", help="e.g. rbm, dbn, gru, cnn")
    new.add_argument(
        "-o", "--output", metavar="PATH", help="where to write it (default: CONCEPT.net; -: stdout)"
    )
    new.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    new.set_defaults(run=_new)

    explain = sub.add_parser(
        "explain",
        help="each unit as its equation; or a diagnostic code, `units`, or a unit kind",
        description="`netspec explain FILE` prints every unit as its equation with shapes; "
        "`netspec explain E301` explains a diagnostic code; `netspec explain units` lists unit "
        "kinds; `netspec explain dense` shows one kind's parameters; `netspec explain train` "
        "lists train settings, data sources, optimizers, schedules and pretraining methods; "
        "`netspec explain pcd` or `netspec explain early_stop` shows one of them; "
        "`netspec explain backprop` explains backpropagation.",
    )
    _spec_options(
        explain,
        what="a .net file, a code like E301, `units`, a unit kind, `train`, a catalogue entry "
        "or a train setting",
    )
    explain.add_argument(
        "--backward",
        action="store_true",
        help="also print backpropagation through the network: each unit's local gradients, "
        "from the loss down, with shapes",
    )
    explain.set_defaults(run=_explain)

    draw = sub.add_parser(
        "draw",
        help="draw a network as a graphical model (SVG, PNG, PDF or DOT)",
        description="Draw a network as a graphical model: observed inputs shaded, latent units "
        "as ellipses, each op named by its statement, RBM couplings undirected (a deep belief "
        "net's lower layers top-down), generative arrows, pretraining objectives, recurrent "
        "self-loops, block clusters, loss heads and a legend; PNG adds a small net's equations. "
        "SVG and PNG need no system Graphviz; PDF does.",
    )
    _spec_options(draw)
    draw.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file (default: NETWORK[.VIEW][.STAGE].FORMAT here; - for stdout)",
    )
    draw.add_argument(
        "--format", choices=FORMATS, help="output format (default: from OUT's extension, else svg)"
    )
    draw.add_argument(
        "--view",
        choices=VIEWS,
        default="units",
        help="units (default) or neurons: every neuron a circle, large layers elided",
    )
    draw.add_argument(
        "--stage", metavar="NAME", help="colour what this train stage trains and freezes"
    )
    draw.add_argument(
        "--rankdir",
        choices=("TB", "LR", "BT", "RL"),
        default="TB",
        help="layout direction (default: TB, top to bottom)",
    )
    draw.add_argument(
        "--legend",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a legend of the conventions the units view uses (default: on)",
    )
    draw.add_argument(
        "--run",
        dest="gradients_run",  # `run` is the command's function
        metavar="RUN",
        help="colour the units by the gradient norms training run RUN recorded (gradients.json)",
    )
    draw.add_argument(
        "--epoch",
        type=_positive,
        metavar="N",
        help="with --run: the Nth epoch with gradients, as on plots/gradients.svg (default: last)",
    )
    draw.set_defaults(run=_draw)

    fmt = sub.add_parser(
        "fmt",
        help="print a spec in canonical form (keeps comments)",
        description="Format specs canonically. Idempotent; comments are kept.",
    )
    fmt.add_argument("files", nargs="+", metavar="FILE", help=".net files (`-` for stdin)")
    mode = fmt.add_mutually_exclusive_group()
    mode.add_argument("-w", "--write", action="store_true", help="rewrite the files in place")
    mode.add_argument(
        "--check", action="store_true", help="exit 1 if any file is not formatted; change nothing"
    )
    _output_options(fmt)
    fmt.set_defaults(run=_fmt)
    _train_parser(sub)
    _eval_parser(sub)
    _diff_parser(sub)
    _export_parser(sub)
    _sample_parser(sub)
    _predict_parser(sub)
    _report_parser(sub)
    _lsp_parser(sub)
    _sweep_parser(sub)
    _compare_parser(sub)
    _completion_parser(sub)
    return parser


def _count(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise argparse.ArgumentTypeError(f"expected an integer of at least {least}, got `{text}`")
    return value


def _positive(text: str) -> int:
    return _count(text, 1)


def _natural(text: str) -> int:
    return _count(text, 0)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a number of seconds, 0 or more, not {text!r}")
    return value


def _train_parser(sub: Any) -> None:
    train = sub.add_parser(
        "train",
        help="train a network as its `train` section says; write a run directory",
        description="Train the network of FILE's `train` section, stage by stage. Writes "
        "runs/<network>-<time>/ with the spec, a manifest, metrics (jsonl and csv), "
        "checkpoints (safetensors), plots and the network's drawing. Under torchrun "
        "(`torchrun --standalone --nproc_per_node=N -m netspec train FILE`), N processes "
        "train data-parallel.",
    )
    _spec_options(train)
    where = train.add_argument_group("where")
    where.add_argument("--runs", metavar="ROOT", default="runs", help="runs folder (default: runs)")
    where.add_argument(
        "--run-dir", metavar="DIR", help="this run's folder (default: ROOT/NAME-TIME)"
    )
    where.add_argument(
        "--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint"
    )
    how = train.add_argument_group("how")
    how.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: the spec's")
    how.add_argument("--seed", type=_natural, metavar="N", help="default: the spec's")
    how.add_argument(
        "--seeds",
        type=_positive,
        metavar="N",
        help="train N runs, seeds SEED, SEED+1, ... (folders NAME-TIME-seed-K); print each "
        "final metric's mean +- sd over them",
    )
    how.add_argument(
        "--threads",
        type=_positive,
        metavar="N",
        help="CPU threads (default 1: fastest for small models on a busy CPU)",
    )
    how.add_argument("--compile", action="store_true", help="torch.compile the objective")
    length = how.add_mutually_exclusive_group()
    length.add_argument(
        "--epochs", type=_positive, metavar="N", help="every supervised stage runs N epochs"
    )
    length.add_argument(
        "--steps", type=_positive, metavar="N", help="every supervised stage runs N steps"
    )
    length.add_argument(
        "--smoke",
        action="store_true",
        help="one step of every stage (of each unit of a greedy stage), then the final "
        "evaluation and plots: a quick check that the spec trains end to end",
    )
    how.add_argument(
        "--skip-stage",
        action="append",
        default=[],
        metavar="NAME",
        help="leave out this stage of the `train` section (repeatable): "
        "`--skip-stage pretrain` trains without pretraining",
    )
    how.add_argument(
        "--max-steps",
        type=_positive,
        metavar="N",
        help="stop after N optimizer steps in all, with a checkpoint to --resume from",
    )
    how.add_argument(
        "--checkpoint-every",
        type=_positive,
        metavar="N",
        help="write last.safetensors every N optimizer steps (default: every "
        "--checkpoint-seconds), besides each stage's end and a stop",
    )
    how.add_argument(
        "--checkpoint-seconds",
        type=_seconds,
        default=60.0,
        metavar="S",
        help="write last.safetensors after S seconds of training since the last one (default 60)",
    )
    out = train.add_argument_group("output")
    out.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs")
    out.add_argument("--quiet", action="store_true", help="print only where the run is")
    train.set_defaults(run=_train)


def _eval_parser(sub: Any) -> None:
    ev = sub.add_parser(
        "eval",
        help="evaluate a checkpoint on a split of the spec's data",
        description="Load a checkpoint's model (last.safetensors or best.safetensors) and print "
        "each loss head's metrics on a split of the data of FILE's `train` section. Given a run "
        "folder, evaluate its last checkpoint with the spec, --set values and seed it was "
        "trained with.",
    )
    _spec_options(ev, RUN_OR_FILE)
    ev.add_argument("--checkpoint", metavar="PATH", help=CHECKPOINT_HELP)
    ev.add_argument("--split", choices=("test", "val", "train"), default="test")
    ev.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: the spec's")
    ev.set_defaults(run=_eval)


RUN_OR_FILE = "a .net file (`-` for stdin), or a run folder that `netspec train` wrote"
CHECKPOINT_HELP = (
    "a .safetensors file (needed with a FILE); for a run folder `last` (default) or `best`"
)


def _spec_options(p: argparse.ArgumentParser, what: str = "a .net file (`-` for stdin)") -> None:
    p.add_argument("file", metavar="FILE", help=what)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a top-level `let`, a train setting (`epochs=3`), a stage's setting "
        "(`finetune.batch=64`) or a named loss's parameter (`reconstruct.weight=0`); repeatable",
    )
    p.add_argument("--network", metavar="NAME", help="only this network")
    p.add_argument(
        "--allow-path",
        action="append",
        default=[],
        metavar="DIR",
        help="also let the spec read (`use`, data files) under DIR; it reads under its own "
        "folder always; repeatable",
    )
    _output_options(p)


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--error-format",
        choices=("human", "short", "json"),
        default="human",
        help="how to print diagnostics (default: human)",
    )
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour diagnostics (auto: on a terminal, unless NO_COLOR is set)",
    )


def _report(exc: NetspecError, args: argparse.Namespace) -> None:
    fmt = getattr(args, "error_format", "human")
    if fmt == "json":
        sys.stdout.write(render_json(exc.diagnostics))
    elif fmt == "short":
        sys.stderr.write(render_short(exc.diagnostics))
    else:
        sys.stderr.write(render_text(exc.diagnostics, exc.sources, color=_color(args, sys.stderr)))


def _color(args: argparse.Namespace, stream: TextIO) -> bool:
    choice = getattr(args, "color", "auto")
    if choice != "auto":
        return bool(choice == "always")
    return stream.isatty() and "NO_COLOR" not in os.environ


def _read(file: str) -> tuple[str, str]:
    if file == "-":
        stdin = getattr(sys.stdin, "buffer", None)  # bytes, decoded as a file's are
        return (sys.stdin.read() if stdin is None else _decoded(stdin.read(), "<stdin>")), "<stdin>"
    path = Path(file)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _Usage(
            f"no such file: {file}",
            code="E731",
            help="check the path; it is relative to the current directory (`-` reads stdin)",
        ) from None
    except IsADirectoryError:
        raise _Usage(
            f"{file} is a folder, not a spec file", code="E732", help=_specs_in(path)
        ) from None
    except OSError as exc:
        raise _Usage(f"cannot read {file}: {exc.strerror or exc}", code="E734") from None
    return _decoded(data, file), file


def _decoded(data: bytes, file: str) -> str:
    """A spec's text, its newlines as text mode reads them (CRLF and CR become LF); bytes that
    are not UTF-8 are a usage error naming the first one's place."""
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _Usage(
            f"{file} is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, "
            f"column {column}",
            code="E733",
            help="a spec is a UTF-8 text file; re-save it as UTF-8, or name the .net file meant",
        ) from None


def _specs_in(folder: Path) -> str:
    """The help for a folder given as a spec: the specs it holds, if any."""
    specs = sorted(p.name for p in folder.glob("*.net"))
    if not specs:
        return "name a .net file"
    shown = ", ".join(specs[:5]) + (", ..." if len(specs) > 5 else "")
    return f"name one of its specs: {shown}"


def _compile(args: argparse.Namespace) -> Compiled:
    overrides = _overrides(args)
    text, file = _read(args.file)
    for folder in args.allow_path:
        if not Path(folder).is_dir():
            raise _Usage(f"--allow-path {folder}: no such folder")
    if getattr(args, "command", None) in SWEEP_CHECKED:
        return compile(text, file, overrides, allow_paths=args.allow_path)
    from netspec.plan.sweep import points_unchecked

    with points_unchecked():  # a sweep's points cost a compile each: checked where it matters
        return compile(text, file, overrides, allow_paths=args.allow_path)


# The commands that compile a spec at every point of its sweep before going on: the others only
# show or use the spec as written.
SWEEP_CHECKED = frozenset({"check", "train", "sweep"})


def _target(args: argparse.Namespace, trained: bool) -> tuple[Compiled, Path | None]:
    """What eval, export, sample and predict work on: FILE compiled as given, or a run folder's
    own copy of its spec, compiled with its --set values; then `args.network` names one
    network and, for a run, `args.checkpoint` one of its checkpoints."""
    folder = Path(args.file)
    if args.file == "-" or not (folder / "manifest.json").is_file():
        compiled = _compile(args)
        args.network = _main_network(compiled, args, trained)
        return compiled, None
    from netspec.training.run_spec import compile_run

    spec = compile_run(folder, _overrides(args))  # RunSpecError, NetspecError: reported
    if args.network not in (None, spec.network):
        raise _Usage(
            f"the run in {folder} trained network `{spec.network}`, not `{args.network}`",
            code="E761",
            help="leave --network out: a run folder names its network",
        )
    args.network = spec.network
    args.run_seed = spec.manifest.get("seed")  # the data split the run was measured on
    chosen = getattr(args, "checkpoint", None) or "last"
    if chosen in ("last", "best"):
        args.checkpoint = str(folder / "checkpoints" / f"{chosen}.safetensors")
    return spec.compiled, folder


def _main_network(compiled: Compiled, args: argparse.Namespace, trained: bool) -> str | None:
    """The network meant: --network, else the only one (`trained`: the only one with a `train`
    section; otherwise the only network, or the only trained one). Several: E760."""
    if args.network is not None:
        _networks(compiled, args)  # an unknown name is a usage error listing the networks
        return str(args.network)
    if trained:
        names = list(compiled.trains)
    elif len(compiled.networks) > 1 and len(compiled.trains) == 1:
        return next(iter(compiled.trains))
    else:
        names = list(compiled.networks)
    if len(names) <= 1:
        return names[0] if names else None
    what = "networks with a `train` section" if trained else "networks"
    raise _Usage(
        f"{args.file} has {len(names)} {what} ({', '.join(names)}); which one is meant?",
        code="E760",
        help=f"name it with --network, e.g. --network {names[0]}",
    )


def _networks(compiled: Compiled, args: argparse.Namespace) -> list[Graph]:
    if args.network is None:
        return list(compiled.networks.values())
    if args.network not in compiled.networks:
        names = ", ".join(compiled.networks) or "none"
        raise _Usage(f"no network `{args.network}` (networks: {names})", code="E735")
    return [compiled.networks[args.network]]


def _check(args: argparse.Namespace) -> int:
    compiled = _compile(args)
    from netspec.data.checks import check_data

    problems = check_data(compiled, [g.name for g in _networks(compiled, args)])
    if problems:  # the data files break their contracts: reported as spec errors are, exit 1
        raise NetspecError(problems, compiled.sources)
    for graph in _networks(compiled, args):
        train = compiled.trains.get(graph.name)
        found = estimate(graph, train)
        data = "" if train is None else "  " + data_line(train.data, graph) + "\n"
        print(_table(graph) + data + f"  {found.summary()}\n")
        too_big = memory_warning(graph, found)
        if too_big is not None:  # a warning: the spec is valid, the exit status stays 0
            _report(NetspecError([too_big], compiled.sources), args)
    if not compiled.networks:
        print("no networks (the file holds only blocks and lets)")
    return 0


def _table(graph: Graph) -> str:
    rows = [("name", "kind", "output", "params")]
    for node in graph.nodes():
        if node.role is Role.OUTPUT:
            continue
        count = node.meta.get("params")
        rows.append((node.id, node.kind, str(node.type), f"{count:,}" if count else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    units = sum(1 for n in graph.nodes() if n.role is Role.UNIT)
    plural = "" if units == 1 else "s"
    lines = [f"network {graph.name}: {units} unit{plural}, {total_params(graph):,} parameters"]
    for r in rows:
        lines.append(
            "  "
            + "  ".join(
                [
                    r[0].ljust(widths[0]),
                    r[1].ljust(widths[1]),
                    r[2].ljust(widths[2]),
                    r[3].rjust(widths[3]),
                ]
            ).rstrip()
        )
    outputs = ", ".join(f"{n.label} {n.type}" for n in graph.nodes(Role.OUTPUT))
    if outputs:
        lines.append(f"  outputs: {outputs}")
    return "\n".join(lines) + "\n"


def _explain(args: argparse.Namespace) -> int:
    topic = args.file
    if topic.upper() in CODES or (len(topic) == 4 and topic[0] in "eE" and topic[1:].isdigit()):
        page = explain_code(topic)
        if page is None:
            raise _Usage(
                f"no diagnostic code {topic}",
                code="E737",
                help="the codes are listed in the error messages; `netspec explain E301` is one",
            )
        print(page, end="")
        return 0
    # `units` and `train` win over a file of that name; the other topics give way to files
    if topic in ("units", "train") or not Path(topic).exists():
        page = explain.topic_page(topic)
        if page is not None:
            print(page, end="")
            return 0
        if not _names_a_file(topic):
            first, _, rest = explain.unknown_topic(topic).partition("\n")
            raise _Usage(first, code="E737", help=rest.strip().strip("()") or None)
    compiled = _compile(args)
    pages = [
        listing(g, compiled.sources, args.backward, compiled.trains.get(g.name))
        for g in _networks(compiled, args)
    ]
    print("\n".join(pages), end="")
    return 0


def _names_a_file(word: str) -> bool:
    """Whether a word that is no topic was meant as a path (so "no such file" is the answer)."""
    return word == "-" or word.endswith(".net") or "/" in word or os.sep in word


def _draw(args: argparse.Namespace) -> int:
    suffix = Path(args.output).suffix if args.output and args.output != "-" else ""
    if suffix and not args.format and _format_of(args.output) is None:
        known = ", ".join(f".{f}" for f in FORMATS)
        raise _Usage(
            f"cannot write `{args.output}`: draw writes {known} (or .jpg), or --format",
            code="E741",
        )
    compiled = _compile(args)
    fmt = args.format or _format_of(args.output) or "svg"
    if args.network is not None and args.network not in compiled.networks:
        _networks(compiled, args)  # raises the usage error listing the networks
    if not compiled.networks:
        raise _Usage("the file defines no network to draw", code="E736")
    name = compiled.network(args.network).name
    grads = _gradients(args)
    try:
        dot = draw(
            compiled,
            args.network,
            args.view,
            args.stage,
            args.rankdir,
            "dot",
            *grads,
            legend=args.legend,
            caption=fmt in UNTIPPED,  # rendered below from this DOT text
        )
    except KeyError as exc:  # an unknown --stage: the message lists the stages
        raise _Usage(str(exc.args[0]), code="E745") from None
    except GradientError as exc:
        raise _Usage(f"--run {args.gradients_run}: {exc}", code=exc.code) from None
    assert isinstance(dot, str)
    out = args.output or ".".join(
        [name]
        + ([args.view] if args.view != "units" else [])
        + ([args.stage] if args.stage else [])
        + (["gradients"] if grads[0] else [])
        + [fmt]
    )
    try:
        data = render(dot, fmt)
    except RenderError as exc:  # nothing is lost: the DOT text is written instead
        fallback = str(Path(out).with_suffix(".dot")) if out != "-" else "-"
        _write(fallback, dot.encode("utf-8"))
        note = f"wrote {fallback} instead" if fallback != "-" else "wrote the DOT text instead"
        raise Failure(exc.message, code=exc.code, help=exc.help, note=note) from None
    _write(out, data)
    if out != "-":
        print(f"wrote {out}")
    return 0


def _gradients(args: argparse.Namespace) -> tuple[GradientRecord | None, int | None]:
    """The run and epoch whose gradients `draw --run RUN [--epoch N]` colours the units by."""
    if args.gradients_run is None:
        if args.epoch is not None:
            raise _Usage("--epoch picks an epoch of --run RUN; give the run too")
        return None, None
    if args.view != "units":
        raise _Usage("--run colours the units view; leave out --view neurons")
    try:
        record = read_gradients(Path(args.gradients_run))
        record.epoch(args.epoch)  # an epoch the run did not record is a usage error
    except GradientError as exc:
        raise _Usage(exc.message, code=exc.code) from None
    return record, args.epoch


def _format_of(output: str | None) -> str | None:
    if not output or output == "-":
        return None
    suffix = Path(output).suffix.lstrip(".").lower()
    suffix = "jpeg" if suffix == "jpg" else suffix
    return suffix if suffix in FORMATS else None


def _write(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise _unwritable(path, exc) from None


def _unwritable(path: str | Path, exc: OSError) -> _Usage:
    """The usage error for an output path the system refuses, with what to do about it."""
    target = Path(path)
    blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    reason = exc.strerror or str(exc)
    if blocker is not None:  # mkdir says "File exists" here, which misleads
        reason, fix = "Not a directory", f"{blocker} is a file, not a folder; choose another path"
    elif target.is_dir():
        fix = "it is a folder; name a file in it"
    elif not target.parent.exists():
        fix = f"create the folder {target.parent} first, or choose another path"
    else:
        fix = "choose a path you may write to"
    return _Usage(f"cannot write {path}: {reason}", code="E740", help=fix)


def _new(args: argparse.Namespace) -> int:
    from netspec.starters import ALIASES, name_of, starters

    every = starters()
    if args.concept is None:
        width = max(map(len, every))
        for name, each in every.items():
            print(f"{name.ljust(width)}  {each.idea}")
        print("\nalso: " + ", ".join(f"{a} ({s})" for a, s in sorted(ALIASES.items())))
        return 0
    starter = every.get(name_of(args.concept))
    if starter is None:
        hint = did_you_mean(args.concept, [*every, *ALIASES]) or "`netspec new` lists them"
        raise _Usage(f"no starter for `{args.concept}`; {hint}", code="E738")
    output = args.output or f"{starter.name}.net"
    if output != "-" and Path(output).exists() and not args.force:
        raise _Usage(
            f"{output} exists; pass --force to overwrite it, or -o another path", code="E739"
        )
    _write(output, starter.text().encode("utf-8"))
    if output != "-":
        print(f"wrote {output}: {starter.idea}")
        print(f"next: netspec explain {output}; netspec train {output}")
    return 0


def _fmt(args: argparse.Namespace) -> int:
    unformatted = []
    for file in args.files:
        text, name = _read(file)
        formatted = format_module(parse(text, name))
        if args.check:
            if formatted != text:
                unformatted.append(name)
        elif args.write and file != "-":
            if formatted != text:
                try:
                    Path(file).write_text(formatted, encoding="utf-8")
                except OSError as exc:
                    raise _unwritable(file, exc) from None
        else:
            sys.stdout.write(formatted)
    for name in unformatted:
        print(f"would reformat {name}", file=sys.stderr)
    return 1 if unformatted else 0


# --- train and eval ----------------------------------------------------------------------------


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise _Usage(f"--set expects NAME=VALUE, got `{item}`", help="e.g. `--set epochs=3`")
        overrides[name.strip()] = value.strip()
    return overrides


def _shown_sets(recorded: dict[str, Any]) -> str:
    return " ".join(f"--set {k}={v}" for k, v in recorded.items()) or "it had no --set"


def _resumed(args: argparse.Namespace) -> None:
    """A resumed run keeps its --set, --network, --seed, --epochs, --steps and --skip-stage (and,
    unless given, --threads and --compile): left out, they come from its manifest; different,
    exit 2."""
    try:
        manifest = json.loads((Path(args.resume) / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("a manifest is a JSON object")
    except (OSError, ValueError):
        missing = not Path(args.resume).exists()
        raise _Usage(
            f"no such run folder: {args.resume}"
            if missing
            else f"{args.resume} is not a run directory (no readable manifest.json)",
            code="E743",
            help="--resume takes the folder a `netspec train` run wrote (its path is printed "
            "as `run:`)",
        ) from None
    recorded: dict[str, Any] = manifest.get("overrides", {})
    if args.set and _overrides(args) != recorded:
        raise _Usage(
            f"--set differs from the run's ({_shown_sets(recorded)}); a resumed run keeps its "
            "values",
            code="E744",
        )
    args.set = args.set or [f"{k}={v}" for k, v in recorded.items()]
    kept = {"network": "network", "seed": "seed", "epochs": "epochs_override"}
    for key, field in {**kept, "steps": "steps_override"}.items():
        given, value = getattr(args, key), manifest.get(field)
        if given is not None and given != value:
            raise _Usage(
                f"--{key} {given} differs from the run's {value}; a resumed run keeps it",
                code="E744",
            )
        setattr(args, key, value)
    args.threads = args.threads or manifest.get("threads")
    args.compile = args.compile or bool(manifest.get("compile"))
    skipped: list[str] = manifest.get("skip_stages", [])
    if args.skip_stage and set(args.skip_stage) != set(skipped):
        shown = ", ".join(skipped) or "none"
        raise _Usage(
            f"--skip-stage differs from the run's ({shown}); a resumed run keeps it", code="E744"
        )
    args.skip_stage = args.skip_stage or skipped


def _train(args: argparse.Namespace) -> int:
    if args.seeds is not None and args.resume:
        raise _Usage(
            "--seeds starts new runs; it cannot --resume one",
            code="E767",
            help="resume each seed's run folder on its own",
        )
    if args.resume:
        _resumed(args)
    compiled = _compile(args)  # spec errors stop here, before torch is imported
    args.network = _main_network(compiled, args, trained=True)  # unknown or ambiguous: exit 2
    from netspec.training.run import SkipError, TrainOptions, train

    options = TrainOptions(
        network=args.network,
        runs_root=Path(args.runs),
        run_dir=Path(args.run_dir) if args.run_dir else None,
        resume=Path(args.resume) if args.resume else None,
        device=args.device,
        seed=args.seed,
        threads=args.threads,
        compile=args.compile,
        epochs=args.epochs,
        steps=args.steps,
        smoke=args.smoke,
        max_steps=args.max_steps,
        checkpoint_every=args.checkpoint_every,
        checkpoint_seconds=args.checkpoint_seconds,
        tensorboard=args.tensorboard,
        quiet=args.quiet,
        overrides=_overrides(args),
        skip_stages=tuple(args.skip_stage),
        allow_paths=tuple(args.allow_path),
        argv=args.argv,
    )
    if args.seeds is not None:
        return _train_seeds(compiled, options, args.seeds)
    try:
        result = train(compiled, options)
    except SkipError as exc:  # raised before any work, so no run folder is left behind
        raise _Usage(exc.message, code="E745") from None
    from netspec.training.distributed import world_from_env

    if world_from_env().main:  # under torchrun, process 0 speaks for all
        _summary(result, args.quiet)
    if result.status == "interrupted":
        from netspec.training.signals import EXIT_CODES

        again = shlex.join(["netspec", "train", args.file, "--resume", str(result.run_dir)])
        print(
            f"netspec train: {result.signal} stopped the run after its current step, with a "
            f"checkpoint; continue it with:\n  {again}",
            file=sys.stderr,
        )
        return EXIT_CODES[result.signal]
    return 0


def _train_seeds(compiled: Compiled, options: Any, count: int) -> int:
    """`--seeds N`: N ordinary runs, seeds SEED..SEED+N-1, then each final metric's mean +- sd."""
    import dataclasses
    import time

    from netspec.report.seeds import seeds_table
    from netspec.training.run import SkipError, train

    assert options.network is not None
    first = options.seed if options.seed is not None else compiled.trains[options.network].seed
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = options.run_dir or options.runs_root / f"{options.network}-{stamp}"
    seeds = [first + k for k in range(count)]
    results = []
    for seed in seeds:
        run_dir = base.with_name(f"{base.name}-seed-{seed}")
        try:
            result = train(compiled, dataclasses.replace(options, seed=seed, run_dir=run_dir))
        except SkipError as exc:
            raise _Usage(exc.message, code="E745") from None
        if result.status == "interrupted":  # the signal stops the seeds still to come too
            from netspec.training.signals import EXIT_CODES

            print(f"netspec train: {result.signal} stopped the run in {run_dir}", file=sys.stderr)
            return EXIT_CODES[result.signal]
        results.append(result)
    print(f"\n{results[0].split} metrics of network {options.network} over seeds {seeds}:")
    print(seeds_table(seeds, [r.metrics for r in results]), end="")
    for seed, result in zip(seeds, results, strict=True):
        print(f"run (seed {seed}): {result.run_dir}")
    return 0


def _summary(result: Any, quiet: bool) -> None:
    from netspec.training.progress import metrics_table, scores_table

    if result.status == "stopped":
        print(f"stopped with a checkpoint; continue with --resume {result.run_dir}")
    if result.status == "interrupted":
        return  # _train says what to do
    if not quiet and result.status == "done" and result.scores:
        print(f"\nobjectives of the pretrained units of network {result.lowered.network}:")
        print(scores_table(result.scores))
    elif not quiet and result.status == "done":
        print(f"\n{result.split} metrics of network {result.lowered.network}:")
        print(metrics_table(result.metrics, result.heads, result.split))
    print(f"run:        {result.run_dir}")
    if quiet:
        return
    best = f" (best: {result.best})" if result.best else ""
    print(f"checkpoint: {result.checkpoint}{best}")
    if result.plots:
        print(f"plots:      {', '.join(str(p) for p in result.plots)}")
    if result.drawing:
        print(f"drawing:    {result.drawing}")


def _eval(args: argparse.Namespace) -> int:
    compiled, _ = _target(args, trained=True)
    _require_checkpoint(args.checkpoint)
    from netspec.training.progress import metrics_table, scores_table
    from netspec.training.run import TrainOptions, evaluate_checkpoint

    options = TrainOptions(
        network=args.network, device=args.device, seed=getattr(args, "run_seed", None), quiet=True
    )
    # TrainError and RunError are Failures: _command reports them (exit 1)
    scored = evaluate_checkpoint(compiled, Path(args.checkpoint), args.split, options)
    if scored.scores:  # no loss heads: the pretrained units' objectives, on every split
        print(f"objectives of the pretrained units in {args.checkpoint}:")
        print(scores_table(scored.scores), end="")
        return 0
    print(f"{args.split} metrics of {args.checkpoint}:")
    print(metrics_table(scored.metrics, scored.heads, args.split), end="")
    return 0


def _require_checkpoint(path: str | None) -> None:
    if path is None:
        raise _Usage(
            "a spec file needs --checkpoint PATH (the weights to use)",
            code="E742",
            help="name a run's checkpoints/last.safetensors, or give the run folder itself",
        )
    if Path(path).is_dir():
        raise _Usage(
            f"{path} is a folder, not a checkpoint",
            code="E742",
            help="name its last.safetensors or best.safetensors",
        )
    if not Path(path).is_file():
        raise _Usage(
            f"no such checkpoint: {path}",
            code="E742",
            help="a run's checkpoints are last.safetensors and best.safetensors in its folder",
        )


def _export_parser(sub: Any) -> None:
    export = sub.add_parser(
        "export",
        help="write the network as PyTorch code, ONNX or a torch.export program",
        description="Write the network for inference (dropout off, no loss heads): as one Python "
        "file that needs only torch (with its weights beside it as .safetensors when a "
        "checkpoint is given), as ONNX through the dynamo exporter (dynamic batch and sequence "
        "axes, each node annotated with its spec unit and file:line), or as a torch.export "
        "program (.pt2). ONNX and pt2 exports of a run that scaled its inputs scale them inside, "
        "so they take raw inputs.",
    )
    _spec_options(export, RUN_OR_FILE)
    export.add_argument("--format", choices=("python", "onnx", "pt2"), default="python")
    export.add_argument(
        "-o", "--output", metavar="OUT", help="default: NETWORK.py, NETWORK.onnx or NETWORK.pt2"
    )
    export.add_argument(
        "--check",
        action="store_true",
        help="run the written export against the torch model on random inputs of new sizes",
    )
    export.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="weights: a .safetensors checkpoint; for a run folder `last` (default) or `best`",
    )
    export.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    compiled, _ = _target(args, trained=False)
    if args.checkpoint is not None:
        _require_checkpoint(args.checkpoint)
    from netspec.backend.deploy import check_export
    from netspec.backend.export import export_network

    scaling = _scaling(args.checkpoint)
    try:
        done = export_network(
            compiled, args.format, args.output, args.checkpoint, args.network, scaling
        )
        checked = (
            check_export(args.format, done.path, done.reference, done.lowered, fixed=done.fixed)
            if args.check
            else None
        )
    except Failure:
        raise  # a checkpoint's own diagnostic (CheckpointError is a ValueError too)
    except OSError as exc:  # the output path: its folder cannot be made, or it cannot be written
        raise _unwritable(args.output or exc.filename or "the output", exc) from None
    except (ValueError, RuntimeError) as exc:
        raise Failure(str(exc), code="E751") from None
    scaled = f" (inputs scaled inside: {', '.join(sorted(scaling))})" if scaling else ""
    print(f"wrote {done.path}{scaled if args.format != 'python' else ''}")
    if done.fixed:
        print(f"note: {done.note(args.format)}")
    if scaling and args.format == "python":
        print(f"note: the Python module takes scaled inputs; the statistics are in {_stats(args)}")
    if checked is None:
        return 0
    print(checked.describe())
    if not checked.ok:
        raise Failure(
            f"the {args.format} export does not compute what the torch model does",
            code="E751",
            help="please report it, with the spec: an exporter changed the computation",
        )
    return 0


def _stats(args: argparse.Namespace) -> Path:
    """Where the run a checkpoint belongs to keeps its input scaling."""
    from netspec.data.scaling import FILE

    return Path(args.checkpoint).parent.parent / FILE


def _scaling(checkpoint: str | None) -> dict[str, Any]:
    """The input scaling of the run a checkpoint belongs to (`RUN/checkpoints/x.safetensors`):
    its weights were trained on scaled inputs, so an export scales them too."""
    if checkpoint is None:
        return {}
    from netspec.data.scaling import read_normalization

    return dict(read_normalization(Path(checkpoint).parent.parent))


# --- predict --------------------------------------------------------------------------------------


def _predict_parser(sub: Any) -> None:
    predict = sub.add_parser(
        "predict",
        help="run a trained network on new samples and write its predictions",
        description="Read samples (CSV rows on stdin or --input FILE; or an .npy / .npz of "
        "arrays named after the inputs), scale them as the run did, run the network and write "
        "one CSV row per sample: a class output's class and probabilities (y, y.p0, ...), "
        "other outputs' values (y.0, ...). `-o out.npz` writes arrays instead, for outputs "
        "with several axes.",
    )
    _spec_options(predict, RUN_OR_FILE)
    predict.add_argument("--checkpoint", metavar="PATH", help=CHECKPOINT_HELP)
    predict.add_argument(
        "--input", metavar="PATH", help="the samples: .csv, .npy or .npz (default: CSV on stdin)"
    )
    predict.add_argument(
        "-o", "--output", metavar="OUT", help="a .csv or .npz file (default: CSV on stdout)"
    )
    predict.set_defaults(run=_predict)


def _predict(args: argparse.Namespace) -> int:
    compiled, run = _target(args, trained=False)
    if not compiled.networks:
        raise _Usage("the file defines no network to run", code="E736")
    _require_checkpoint(args.checkpoint)
    if args.output and not args.output.endswith((".csv", ".npz")):
        raise _Usage(f"cannot write `{args.output}`: predict writes .csv or .npz", code="E741")
    from netspec.backend.deploy import deployable
    from netspec.backend.lower import lower
    from netspec.backend.predict import predict, read_samples, write_csv, write_npz
    from netspec.training.runs import load_weights

    graph = compiled.network(args.network)
    lowered = lower(graph, compiled.sources)
    load_weights(lowered.root, Path(args.checkpoint), graph.name)
    skip = [i for i in lowered.inputs if i not in lowered.model_inputs]
    if run is not None:  # the label columns of the run's own CSV may be left in
        params = json.loads((run / "manifest.json").read_text()).get("data", {}).get("params", {})
        skip += [str(v) for k, v in params.items() if "target" in k and isinstance(v, str)]
    samples = read_samples(args.input, sys.stdin, lowered, skip)  # PredictError: exit 1
    found = predict(deployable(lowered, _scaling(args.checkpoint)), lowered, graph, samples)
    try:
        if args.output and args.output.endswith(".npz"):
            write_npz(found, Path(args.output))
        elif args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                write_csv(found, out)
        else:
            write_csv(found, sys.stdout)
    except OSError as exc:
        raise _unwritable(args.output, exc) from None
    if args.output:
        print(f"wrote {len(found)} predictions to {args.output}")
    return 0


# --- report ---------------------------------------------------------------------------------------


def _report_parser(sub: Any) -> None:
    report = sub.add_parser(
        "report",
        help="a run's report.html again, or one page comparing runs",
        description="Write a run folder's report.html again (spec, drawing, equations, curves, "
        "pictures and manifest in one self-contained page), compiling the run's own copy of "
        "its spec; with several runs, write one page that compares them.",
    )
    report.add_argument("runs", nargs="+", metavar="RUN", help="run folders")
    report.add_argument(
        "-o",
        "--output",
        metavar="OUT.html",
        help="one run: default RUN/report.html; several: default compare.html",
    )
    report.set_defaults(run=_report_page)


def _report_page(args: argparse.Namespace) -> int:
    from netspec.report.compare import read_runs
    from netspec.report.page import rebuild_report, write_compare

    records = read_runs([Path(r) for r in args.runs])  # a CompareError (E749): not a run
    single = len(records) == 1
    default = records[0].path / "report.html" if single else Path("compare.html")
    target = Path(args.output) if args.output else default
    try:
        if single:
            rebuild_report(records[0], target)
        else:
            write_compare(records, target)
    except OSError as exc:
        raise _unwritable(target, exc) from None
    print(f"wrote {target}")
    return 0


# --- sample ---------------------------------------------------------------------------------------


def _sample_parser(sub: Any) -> None:
    sample = sub.add_parser(
        "sample",
        help="draw samples from a trained network's RBM stack (a deep belief net's dreams)",
        description="Run Gibbs chains in the top RBM of the network's RBM stack (for a DBN "
        "`pixels -> h1 -> h2`, in h2), then generate down through the lower RBMs (binary "
        "hidden states drawn from the layer above, then visible means) to the network input, "
        "and write the input means as a grid of images (or curves) to a PNG.",
    )
    _spec_options(sample, RUN_OR_FILE)
    sample.add_argument("--checkpoint", metavar="PATH", help=CHECKPOINT_HELP)
    sample.add_argument(
        "-o", "--output", metavar="OUT", default="samples.png", help="default: samples.png"
    )
    sample.add_argument(
        "--n", type=_positive, default=64, metavar="N", help="chains, one per sample (default 64)"
    )
    sample.add_argument(
        "--steps",
        type=_natural,
        default=1000,
        metavar="N",
        help="Gibbs steps per chain, h then v (default 1000)",
    )
    sample.add_argument("--seed", type=_natural, default=0, metavar="N", help="default 0")
    sample.add_argument(
        "--start",
        choices=("random", "data"),
        default="random",
        help="start the chains from random visible states (default), or from the up-pass of "
        "random training samples of the spec's data",
    )
    sample.set_defaults(run=_sample)


def _sample(args: argparse.Namespace) -> int:
    compiled, _ = _target(args, trained=False)
    if not compiled.networks:
        raise _Usage("the file defines no network to sample from", code="E736")
    _require_checkpoint(args.checkpoint)
    graph = compiled.network(args.network)
    from netspec.report.sample import find_stack

    # SampleError and RunError are Failures: _command reports them (exit 1)
    find_stack(graph)  # a network without RBMs stops here, before lowering it
    from netspec.backend.lower import lower
    from netspec.report.sample import sample, training_inputs, write_samples
    from netspec.training.runs import load_weights

    lowered = lower(graph, compiled.sources)
    load_weights(lowered.root, Path(args.checkpoint), graph.name)
    data = training_inputs(compiled, graph.name) if args.start == "data" else None
    samples = sample(graph, lowered, args.n, args.steps, args.seed, data)
    try:
        write_samples(samples, graph, Path(args.output))
    except OSError as exc:
        raise _unwritable(args.output, exc) from None
    print(
        f"wrote {args.output}: {args.n} sample{'s' * (args.n != 1)} of "
        f"{samples.stack.describe(graph)} after {args.steps} Gibbs steps in "
        f"`{graph.node(samples.stack.top).label}`"
    )
    return 0


# --- diff ---------------------------------------------------------------------------------------


def _diff_parser(sub: Any) -> None:
    diff = sub.add_parser(
        "diff",
        help="what changed between two specs: units, shapes, parameters, training",
        description="Compare a network of FILE with the one of OTHER: units added, removed, "
        "renamed and changed (arguments, wiring, output shapes, parameter counts), inputs, "
        "outputs and losses, and the train settings and stages. Units are matched by name.",
    )
    _spec_options(diff, "the spec before (`-` for stdin)")
    diff.add_argument("other", metavar="OTHER", help="the spec after; --set applies to both")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument(
        "--draw", metavar="OUT", help="also draw OTHER's network with the changes coloured"
    )
    diff.add_argument(
        "--exit-code", action="store_true", help="exit 1 when the specs differ (as git diff)"
    )
    diff.set_defaults(run=_diff)


def _diff(args: argparse.Namespace) -> int:
    from netspec.views.diff import diff
    from netspec.views.diff_render import highlighter, render_diff

    if args.draw and _format_of(args.draw) is None:
        known = ".svg, .png, .jpeg, .pdf or .dot"
        raise _Usage(f"cannot write `{args.draw}`: --draw writes {known}", code="E741")
    compiled = _compile_both(args)
    for each in compiled:
        _networks(each, args)  # an unknown --network is a usage error listing the networks
        if not each.networks:
            raise _Usage("the file defines no network to compare", code="E736")
    found = diff(*compiled, args.network)
    sys.stdout.write(render_diff(found, args.format, _color(args, sys.stdout)))
    if args.draw:
        fmt = _format_of(args.draw) or "svg"
        dot = draw(compiled[1], args.network, decorate=highlighter(found), caption=False)
        assert isinstance(dot, str)
        _write(args.draw, render(dot, fmt))  # a RenderError is a Failure (exit 1)
        print(f"wrote {args.draw}", file=sys.stderr)  # stdout stays the diff
    return 1 if args.exit_code and not found.is_empty else 0


def _compile_both(args: argparse.Namespace) -> tuple[Compiled, Compiled]:
    """FILE and OTHER compiled alike; the errors of both, when either has any."""
    done: list[Compiled] = []
    errors: list[NetspecError] = []
    for file in (args.file, args.other):
        try:
            done.append(_compile(argparse.Namespace(**{**vars(args), "file": file})))
        except NetspecError as exc:
            errors.append(exc)
    if errors:
        raise NetspecError(
            [d for exc in errors for d in exc.diagnostics], _joined([e.sources for e in errors])
        )
    return done[0], done[1]


def _joined(every: list[Sources]) -> Sources:
    joined = Sources()
    for sources in every:
        for file in sources.files():
            joined.add(file, sources.text(file) or "")
    return joined


# --- sweep ----------------------------------------------------------------------------------------


def _sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser(
        "sweep",
        help="run the `sweep` of FILE's `train` section: trials of --set values, with Optuna",
        description="Check the spec at every point of its sweep (or the corners of a continuous "
        "one), then run the trials with Optuna (TPE and median pruning by default), each seed of "
        "each an ordinary run folder under the sweep folder, which also holds the study "
        "(study.db, so --resume continues an interrupted sweep), sweep.json and sweep.html. "
        "Prints the trials (objective mean +- sd over seeds) and the best settings as --set "
        "flags. Needs `pip install 'netspec[sweep]'`.",
    )
    _spec_options(sweep)
    sweep.add_argument("--trials", type=_positive, metavar="N", help="default: the sweep's")
    sweep.add_argument("--runs", metavar="ROOT", default="runs", help="runs folder (default: runs)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument(
        "--sweep-dir", metavar="DIR", help="the sweep's folder (default: ROOT/NAME-sweep-TIME)"
    )
    where.add_argument("--resume", metavar="DIR", help="continue the sweep in DIR")
    sweep.add_argument("--quiet", action="store_true", help="print only where the sweep is")
    sweep.set_defaults(run=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    compiled = _compile(args)  # every sweep point is checked here, before any trial
    network = _main_network(compiled, args, trained=True)
    from netspec.plan.sweep import sweep_of

    plan = sweep_of(compiled.program, network, compiled.trains.get(network)) if network else None
    if network is None or plan is None:
        raise _Usage(
            f"`train {network}` has no `sweep` block" if network else f"{args.file} trains nothing",
            code="E768",
            help="add one, as in `sweep { lr = logrange(1e-4, 1e-1)  trials = 20 }`",
        )
    from netspec.report.sweep_page import write_sweep_page
    from netspec.training.sweep import SweepOptions, best_line, run_sweep, table
    from netspec.views.table import columns

    text, file = _read(args.file)
    options = SweepOptions(
        network=network,
        file=file,
        text=text,
        runs_root=Path(args.runs),
        sweep_dir=Path(args.sweep_dir) if args.sweep_dir else None,
        resume=Path(args.resume) if args.resume else None,
        trials=args.trials,
        overrides=_overrides(args),
        allow_paths=tuple(args.allow_path),
        quiet=args.quiet,
    )
    result = run_sweep(compiled, plan, options)  # a SweepError is a Failure: exit 1
    rows = table(result)
    best = best_line(result, args.file)
    best_trial = str(result.best.number) if result.best is not None else None
    try:
        page = write_sweep_page(
            result.folder / "sweep.html", f"sweep of {network}", rows, best, best_trial
        )
    except OSError as exc:
        raise _unwritable(str(result.folder / "sweep.html"), exc) from None
    if not args.quiet:
        print(columns(rows), end="")
        print(f"best:   {best}" if best else "best:   no trial finished")
        print(f"report: {page}")
    print(f"sweep:  {result.folder}")
    return 0


# --- compare --------------------------------------------------------------------------------------


def _compare_parser(sub: Any) -> None:
    compare = sub.add_parser(
        "compare",
        help="runs side by side: a table of final metrics, the curves on one figure",
        description="Read the run folders' manifest.json and metrics.jsonl; print their final "
        "metrics side by side (one column per run) and plot their loss and metric curves "
        "together (supervised stages aligned, pretraining objectives on a panel of their own).",
    )
    compare.add_argument("runs", nargs="+", metavar="RUN", help="run folders (two or more)")
    compare.add_argument(
        "-o", "--output", metavar="PLOT", default="compare.png", help="default: compare.png"
    )
    compare.set_defaults(run=_compare)


def _compare(args: argparse.Namespace) -> int:
    if len(args.runs) < 2:
        raise _Usage("give two or more run folders to compare")
    from netspec.report.compare import compare_plot, final_table, read_runs

    records = read_runs([Path(r) for r in args.runs])  # a CompareError is a Failure (exit 1)
    print(final_table(records), end="")
    try:
        compare_plot(records, Path(args.output))
    except OSError as exc:
        raise _unwritable(args.output, exc) from None
    print(f"wrote {args.output}")
    return 0


# --- completion -----------------------------------------------------------------------------------


def _completion_parser(sub: Any) -> None:
    from netspec.completion import SHELLS  # the standard library only: start-up stays fast

    completion = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a static completion script for SHELL: subcommands, options, their "
        "choices and .net files complete on TAB without starting Python. For bash: "
        "`netspec completion bash > ~/.local/share/bash-completion/completions/netspec`.",
    )
    completion.add_argument("shell", metavar="SHELL", choices=SHELLS, help="bash, zsh or fish")
    completion.set_defaults(run=_completion)


def _completion(args: argparse.Namespace) -> int:
    from netspec.completion import script
    from netspec.starters import ALIASES, starters

    concepts = sorted({*starters(), *ALIASES})
    sys.stdout.write(script(args.shell, _parser(), {"new": concepts}))
    return 0


# --- lsp ------------------------------------------------------------------------------------------


def _lsp_parser(sub: Any) -> None:
    lsp = sub.add_parser(
        "lsp",
        help="run the language server on stdio for editors",
        description="Speak the Language Server Protocol on stdin and stdout: diagnostics as "
        "you type, hover with shapes and equations, go to definition, completion and quick "
        "fixes for .net files. Needs the `lsp` extra.",
    )
    lsp.set_defaults(run=_lsp)


def _lsp(args: argparse.Namespace) -> int:
    try:
        from netspec.editor.server import serve
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0]
        if package not in ("pygls", "lsprotocol"):
            raise
        raise Failure(
            f"the language server needs the `{package}` package, which is not installed",
            code="E753",
            help="install the `lsp` extra: pip install 'netspec[lsp]'",
        ) from None
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
