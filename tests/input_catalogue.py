"""The invalid-input catalogue: mistakes outside the spec's own text -- the command line, data
files, checkpoints, run folders, paths and resources -- each run through the CLI in a fresh
folder, its exit status and every byte it prints kept as a golden file under tests/cases/inputs.

A case is data: the files its folder holds, the command, the exit status it must give and the
words its message must contain. `setup` builds what text cannot say (a damaged checkpoint, an
unreadable folder) from a small trained run shared by every case.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# A small classifier on a built-in set, and the same on files, so that any data case differs
# from a working spec in one thing only.
NET = """network tiny {
    input x: [4]
    input kind: class(3)
    h = x -> dense(8, act=relu)
    y = softmax(h, 3)
    loss cross_entropy(y, kind)
}
"""
SPEC = NET + "\ntrain tiny {\n    data = iris()\n    steps = 2\n}\n"
RBM = "network dream {\n    input x: [4]\n    h = x -> rbm(8)\n}\n"
WIDER = SPEC.replace("dense(8,", "dense(9,")  # the same network names, other shapes
OTHER = SPEC.replace("h = x", "g = x").replace("softmax(h", "softmax(g")  # other unit names


def _on(source: str) -> str:
    return NET + f"\ntrain tiny {{\n    data = {source}\n    steps = 2\n}}\n"


def on_csv(path: str = "d.csv", target: str = "kind") -> str:
    return _on(f'csv(path="{path}", target="{target}", test=0.2)')


def on_npy(path: str = "x.npy", target: str = "y.npy") -> str:
    return _on(f'npy(path="{path}", target="{target}", test=0.2)')


def rows(n: int = 20, bad: dict[int, str] | None = None) -> str:
    """A CSV of `n` good rows (header `a,b,c,d,kind`); `bad` replaces whole rows by 0-based
    row index (the line in the file is that index + 2)."""
    lines = ["a,b,c,d,kind"]
    for i in range(n):
        lines.append((bad or {}).get(i, f"{i % 5}.5,{i % 3},{i % 7}.25,{i % 2},{i % 3}"))
    return "\n".join(lines) + "\n"


Setup = Callable[[Path, Path], None]  # (the case's folder, a trained run to copy)


@dataclass(frozen=True)
class Case:
    name: str
    about: str
    argv: tuple[str, ...]
    exit: int
    words: tuple[str, ...] = ()  # the message must contain these
    files: dict[str, str | bytes] = field(default_factory=dict)
    setup: Setup | None = None
    posix_only: bool = False  # permissions: meaningless as root or off POSIX


def _case(name: str, about: str, command: str, exit: int, *words: str, **kw: object) -> Case:
    return Case(name, about, tuple(command.split()), exit, words, **kw)  # type: ignore[arg-type]


# --- setups -----------------------------------------------------------------------------------


def _copy_run(into: Path, run: Path, name: str = "run") -> Path:
    target = into / name
    shutil.copytree(run, target)
    return target


def _run(case: Path, run: Path) -> None:
    _copy_run(case, run)


def _damaged(write: Callable[[Path], None]) -> Setup:
    def setup(case: Path, run: Path) -> None:
        ckpt = _copy_run(case, run) / "checkpoints" / "last.safetensors"
        write(ckpt)

    return setup


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _pickle(path: Path) -> None:
    # What torch.save writes: a zip archive holding a pickle. Written by hand so the case needs
    # no torch; the first bytes are the zip magic torch.load looks for.
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"weight": [1.0, 2.0]}))


def _raw_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))


def _random(path: Path) -> None:
    path.write_bytes(bytes((i * 37 + 11) % 256 for i in range(4096)))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _foreign_safetensors(path: Path) -> None:
    """A valid safetensors file that netspec did not write: no netspec metadata."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\x00" * 8)


def _manifest(edit: Callable[[dict[str, object]], None]) -> Setup:
    def setup(case: Path, run: Path) -> None:
        folder = _copy_run(case, run)
        data = json.loads((folder / "manifest.json").read_text())
        edit(data)
        (folder / "manifest.json").write_text(json.dumps(data))

    return setup


def _edited_source(case: Path, run: Path) -> None:
    copy = _copy_run(case, run) / "source" / "spec.net"
    copy.write_text(copy.read_text().replace("dense(8,", "dense(7,"))


def _truncate_last(case: Path, run: Path) -> None:
    _truncate(case / "run" / "checkpoints" / "last.safetensors")


def _broken_manifest(case: Path, run: Path) -> None:
    (_copy_run(case, run) / "manifest.json").write_text("{ not json")


def _no_manifest(case: Path, run: Path) -> None:
    (_copy_run(case, run) / "manifest.json").unlink()


def _broken_metrics(case: Path, run: Path) -> None:
    _copy_run(case, run)
    (_copy_run(case, run, "run2") / "metrics.jsonl").write_text("{x")


def _list_manifest(case: Path, run: Path) -> None:
    (_copy_run(case, run) / "manifest.json").write_text("[1, 2]")


def _read_only(name: str) -> Setup:
    def setup(case: Path, run: Path) -> None:
        folder = case / name
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)

    return setup


def _unreadable(name: str) -> Setup:
    def setup(case: Path, run: Path) -> None:
        (case / name).chmod(0)

    return setup


def _outside(case: Path, run: Path) -> None:
    """A file beside the case's folder (outside the spec's), and a link to it inside."""
    outside = case.parent / f"{case.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.net").write_text("SECRET first line\n")
    (outside / "d.csv").write_text(rows())
    (case / "link.net").symlink_to(outside / "secret.net")


def _npy(name: str, array: object) -> Setup:
    def setup(case: Path, run: Path) -> None:
        import numpy as np

        np.save(case / name, np.asarray(array), allow_pickle=True)

    return setup


def _setups(*setups: Setup) -> Setup:
    def setup(case: Path, run: Path) -> None:
        for one in setups:
            one(case, run)

    return setup


def _good_npy(case: Path, run: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    np.save(case / "x.npy", rng.normal(size=(30, 4)).astype("float32"))
    np.save(case / "y.npy", np.arange(30) % 3)


# --- the cases ----------------------------------------------------------------------------------

C = _case
CASES: list[Case] = [
    # the command line
    C("no_command", "no command at all", "", 2, "usage"),
    C("unknown_command", "a command that does not exist", "trian spec.net", 2, "trian"),
    C("missing_spec", "a spec file that does not exist", "check nope.net", 2, "nope.net"),
    C("spec_is_folder", "the spec is a folder", "check sub", 2, "sub", files={"sub/x": ""}),
    C(
        "spec_not_utf8",
        "a spec that is not UTF-8 text",
        "check bad.net",
        2,
        "bad.net",
        files={"bad.net": b"network n { \xff\xfe }"},
    ),
    C(
        "spec_unreadable",
        "a spec without read permission",
        "check spec.net",
        2,
        "spec.net",
        files={"spec.net": SPEC},
        setup=_unreadable("spec.net"),
        posix_only=True,
    ),
    C(
        "draw_no_network",
        "draw a file that holds only a block",
        "draw lib.net",
        2,
        "network",
        files={"lib.net": "block pair(n) {\n    h = dense(n) -> dense(n)\n}\n"},
    ),
    C(
        "set_no_equals",
        "--set without NAME=VALUE",
        "check spec.net --set width",
        2,
        "NAME=VALUE",
        files={"spec.net": SPEC},
    ),
    C(
        "set_unknown_let",
        "--set of a let the spec lacks",
        "check spec.net --set width=3",
        1,
        "width",
        files={"spec.net": SPEC},
    ),
    C(
        "set_wrong_kind",
        "--set of a word for a number",
        "check let.net --set width=wide",
        1,
        "width",
        files={"let.net": "let width = 8\n" + SPEC.replace("dense(8,", "dense(width,")},
    ),
    C("fmt_missing", "fmt of a file that does not exist", "fmt nope.net", 2, "nope.net"),
    C(
        "draw_run_not_run",
        "draw --run of a folder that is not a run",
        "draw spec.net --run sub",
        2,
        "sub",
        files={"spec.net": SPEC, "sub/x": ""},
    ),
    C(
        "unknown_network",
        "--network names no network",
        "check spec.net --network big",
        2,
        "big",
        files={"spec.net": SPEC},
    ),
    C(
        "draw_gif",
        "draw to an extension it cannot write",
        "draw spec.net -o x.gif",
        2,
        "gif",
        files={"spec.net": SPEC},
    ),
    C(
        "draw_missing_folder",
        "draw into a folder that does not exist",
        "draw spec.net -o nowhere/x.svg",
        2,
        "nowhere",
        files={"spec.net": SPEC},
    ),
    C(
        "draw_unknown_view",
        "a view that does not exist",
        "draw spec.net --view sideways",
        2,
        "sideways",
        files={"spec.net": SPEC},
    ),
    C("explain_unknown_code", "explain a code that does not exist", "explain E999", 2, "E999"),
    C(
        "explain_unknown_topic",
        "explain something that is neither a code, kind nor file",
        "explain frobnicate",
        2,
        "frobnicate",
    ),
    C("steps_zero", "--steps 0", "train spec.net --steps 0", 2, "steps", files={"spec.net": SPEC}),
    C(
        "seed_text",
        "--seed that is not a number",
        "train spec.net --seed abc",
        2,
        "abc",
        files={"spec.net": SPEC},
    ),
    C(
        "threads_negative",
        "--threads below one",
        "train spec.net --threads -1",
        2,
        "threads",
        files={"spec.net": SPEC},
    ),
    C(
        "device_unknown",
        "--device that is not a device",
        "train spec.net --device tpu",
        2,
        "tpu",
        files={"spec.net": SPEC},
    ),
    C(
        "cuda_without_gpu",
        "--device cuda on a machine without one",
        "train spec.net --device cuda",
        1,
        "CUDA",
        files={"spec.net": SPEC},
    ),
    C(
        "epochs_and_steps",
        "--epochs and --steps together",
        "train spec.net --epochs 1 --steps 1",
        2,
        "steps",
        files={"spec.net": SPEC},
    ),
    C(
        "skip_unknown_stage",
        "--skip-stage of a stage the spec lacks",
        "train spec.net --skip-stage warmup",
        2,
        "warmup",
        files={"spec.net": SPEC},
    ),
    C(
        "eval_missing_checkpoint",
        "eval with a checkpoint that does not exist",
        "eval spec.net --checkpoint none.safetensors",
        2,
        "none.safetensors",
        files={"spec.net": SPEC},
    ),
    C(
        "eval_checkpoint_folder",
        "eval given a folder as its checkpoint",
        "eval spec.net --checkpoint run",
        2,
        "run",
        files={"spec.net": SPEC},
        setup=_run,
    ),
    C(
        "eval_no_checkpoint",
        "eval of a spec file with no checkpoint named",
        "eval spec.net",
        2,
        "--checkpoint",
        files={"spec.net": SPEC},
    ),
    C(
        "export_which_network",
        "export of a file with two untrained networks and no --network",
        "export two.net",
        2,
        "--network",
        files={"two.net": NET + NET.replace("network tiny", "network other")},
    ),
    C(
        "eval_run_other_network",
        "eval of a run folder with --network naming another network",
        "eval run --network other",
        2,
        "tiny",
        setup=_run,
    ),
    C(
        "eval_run_without_source",
        "eval of a run folder whose manifest records no copy of its spec",
        "eval run",
        1,
        "no copy of its spec",
        setup=_manifest(lambda m: m.pop("source")),
    ),
    C(
        "eval_run_edited_source",
        "eval of a run folder whose copy of its spec was edited",
        "eval run",
        1,
        "spec_sha256",
        setup=_edited_source,
    ),
    C(
        "predict_not_a_number",
        "predict of CSV rows with a cell that is not a number",
        "predict run --input rows.csv",
        1,
        "rows.csv:3:2",
        files={"rows.csv": "a,b,c,d\n1,2,3,4\n5,six,7,8\n"},
        setup=_run,
    ),
    C(
        "predict_wrong_width",
        "predict of CSV rows with too few values for the input",
        "predict run --input rows.csv",
        1,
        "takes 4",
        files={"rows.csv": "1,2,3\n"},
        setup=_run,
    ),
    C(
        "export_unknown_format",
        "export to a format it does not know",
        "export spec.net --format tflite",
        2,
        "tflite",
        files={"spec.net": SPEC},
    ),
    C(
        "export_under_file",
        "export to a path under a regular file",
        "export spec.net -o f/m.py",
        2,
        "f/m.py",
        files={"spec.net": SPEC, "f": "a file\n"},
    ),
    C(
        "fmt_unformatted",
        "fmt --check of a file that is not formatted",
        "fmt --check spec.net",
        1,
        "spec.net",
        files={"spec.net": "network n {input x: [4]\n}\n"},
    ),
    C(
        "new_unknown_concept",
        "new with a concept it does not know",
        "new perceptron9",
        2,
        "perceptron9",
    ),
    C(
        "new_exists",
        "new over an existing file",
        "new mlp -o spec.net",
        2,
        "spec.net",
        files={"spec.net": SPEC},
    ),
    C(
        "sample_no_rbm",
        "sample from a network without RBMs",
        "sample spec.net --checkpoint run/checkpoints/last.safetensors",
        1,
        "RBM",
        files={"spec.net": SPEC},
        setup=_run,
    ),
    C("compare_one_run", "compare with a single run", "compare run", 2, "two", setup=_run),
    C(
        "compare_not_runs",
        "compare folders that are not runs",
        "compare a b",
        1,
        "a",
        files={"a/x": "", "b/x": ""},
    ),
    C(
        "report_not_run",
        "report on a folder that is not a run",
        "report a",
        1,
        "a",
        files={"a/x": ""},
    ),
    # data files
    C(
        "csv_missing",
        "a CSV that does not exist",
        "check spec.net",
        1,
        "d.csv",
        files={"spec.net": on_csv()},
    ),
    C(
        "csv_nan",
        "a NaN in a CSV",
        "check spec.net",
        1,
        "nan",
        "d.csv:6",
        files={"spec.net": on_csv(), "d.csv": rows(bad={4: "1.5,nan,2,1,0"})},
    ),
    C(
        "csv_inf",
        "an infinity in a CSV",
        "check spec.net",
        1,
        "inf",
        "d.csv:9",
        files={"spec.net": on_csv(), "d.csv": rows(bad={7: "1.5,2,inf,1,0"})},
    ),
    C(
        "csv_text_cell",
        "a word in a numeric column",
        "check spec.net",
        1,
        "d.csv:4",
        files={"spec.net": on_csv(), "d.csv": rows(bad={2: "1.5,two,2,1,0"})},
    ),
    C(
        "csv_empty_cell",
        "an empty cell",
        "check spec.net",
        1,
        "d.csv:5",
        files={"spec.net": on_csv(), "d.csv": rows(bad={3: "1.5,,2,1,0"})},
    ),
    C(
        "csv_ragged_short",
        "a row with too few cells",
        "check spec.net",
        1,
        "d.csv:7",
        files={"spec.net": on_csv(), "d.csv": rows(bad={5: "1.5,2,1,0"})},
    ),
    C(
        "csv_ragged_long",
        "a row with too many cells",
        "check spec.net",
        1,
        "d.csv:3",
        files={"spec.net": on_csv(), "d.csv": rows(bad={1: "1.5,2,1,0,3,9"})},
    ),
    C(
        "csv_label_out_of_range",
        "a class id beyond class(3)",
        "check spec.net",
        1,
        "7",
        "class(3)",
        files={"spec.net": on_csv(), "d.csv": rows(bad={6: "1.5,2,1,0,7"})},
    ),
    C(
        "csv_label_negative",
        "a negative class id",
        "check spec.net",
        1,
        "-1",
        files={"spec.net": on_csv(), "d.csv": rows(bad={6: "1.5,2,1,0,-1"})},
    ),
    C(
        "csv_label_fraction",
        "a class id that is not whole",
        "check spec.net",
        1,
        "1.5",
        files={"spec.net": on_csv(), "d.csv": rows(bad={6: "1.5,2,1,0,1.5"})},
    ),
    C(
        "csv_no_target_column",
        "target names a column the CSV lacks",
        "check spec.net",
        1,
        "label",
        files={"spec.net": on_csv(target="label"), "d.csv": rows()},
    ),
    C(
        "csv_header_only",
        "a CSV with a header and no rows",
        "check spec.net",
        1,
        "d.csv",
        files={"spec.net": on_csv(), "d.csv": "a,b,c,d,kind\n"},
    ),
    C(
        "csv_empty_file",
        "an empty CSV",
        "check spec.net",
        1,
        "d.csv",
        files={"spec.net": on_csv(), "d.csv": ""},
    ),
    C(
        "csv_too_few_rows",
        "too few rows for a test split",
        "check spec.net",
        1,
        "test",
        files={"spec.net": on_csv(), "d.csv": rows(1)},
    ),
    C(
        "csv_wrong_width",
        "more feature columns than the input takes",
        "check spec.net",
        1,
        "[4]",
        files={"spec.net": on_csv(), "d.csv": "a,b,c,d,e,kind\n" + "1,2,3,4,5,0\n" * 20},
    ),
    C(
        "csv_not_text",
        "a binary file named .csv",
        "check spec.net",
        1,
        "d.csv",
        files={"spec.net": on_csv(), "d.csv": b"\x00\xff\x10" * 50},
    ),
    C(
        "csv_unreadable",
        "a CSV without read permission",
        "check spec.net",
        1,
        "d.csv",
        files={"spec.net": on_csv(), "d.csv": rows()},
        setup=_unreadable("d.csv"),
        posix_only=True,
    ),
    C(
        "csv_is_folder",
        "the CSV path is a folder",
        "check spec.net",
        1,
        "d.csv",
        files={"spec.net": on_csv(), "d.csv/x": ""},
    ),
    C(
        "npy_missing",
        "an NPY file that does not exist",
        "check spec.net",
        1,
        "x.npy",
        files={"spec.net": on_npy()},
    ),
    C(
        "npy_not_npy",
        "a file named .npy that is not one",
        "check spec.net",
        1,
        "x.npy",
        files={"spec.net": on_npy(), "x.npy": "1,2,3\n"},
        setup=_npy("y.npy", [0, 1, 2]),
    ),
    C(
        "npy_nan",
        "a NaN in an NPY array",
        "check spec.net",
        1,
        "nan",
        files={"spec.net": on_npy()},
        setup=_setups(_good_npy, _npy("x.npy", [[0.0, 1.0, float("nan"), 2.0]] * 30)),
    ),
    C(
        "npy_wrong_shape",
        "features of the wrong width",
        "check spec.net",
        1,
        "[4]",
        files={"spec.net": on_npy()},
        setup=_setups(_good_npy, _npy("x.npy", [[0.0, 1.0, 2.0]] * 30)),
    ),
    C(
        "npy_count_mismatch",
        "features and targets of different lengths",
        "check spec.net",
        1,
        "30",
        files={"spec.net": on_npy()},
        setup=_setups(_good_npy, _npy("y.npy", [0, 1, 2] * 5)),
    ),
    C(
        "npy_objects",
        "an NPY of Python objects (a pickle inside)",
        "check spec.net",
        1,
        "x.npy",
        files={"spec.net": on_npy()},
        setup=_setups(_good_npy, _npy("x.npy", [{"a": 1}] * 30)),
    ),
    C(
        "npy_label_out_of_range",
        "a class id beyond class(3) in an NPY",
        "check spec.net",
        1,
        "class(3)",
        files={"spec.net": on_npy()},
        setup=_setups(_good_npy, _npy("y.npy", [5] * 30)),
    ),
    # paths
    C(
        "use_absolute",
        "`use` of an absolute path",
        "check spec.net",
        1,
        "absolute",
        files={"spec.net": 'use "/etc/netspec.net"\n' + SPEC},
    ),
    C(
        "use_parent",
        "`use` escaping the spec's folder",
        "check spec.net",
        1,
        "..",
        files={"spec.net": 'use "../x.net"\n' + SPEC},
    ),
    C(
        "use_not_net",
        "`use` of a file that is not a .net file",
        "check spec.net",
        1,
        "notes.txt",
        files={"spec.net": 'use "notes.txt"\n' + SPEC, "notes.txt": "SECRET first line\n"},
    ),
    C(
        "use_link_outside",
        "`use` of a link that points outside the folder",
        "check spec.net",
        1,
        "link.net",
        files={"spec.net": 'use "link.net"\n' + SPEC},
        setup=_outside,
    ),
    C(
        "csv_absolute",
        "a data path that is absolute",
        "check spec.net",
        1,
        "absolute",
        files={"spec.net": on_csv("/etc/hostname")},
    ),
    C(
        "csv_parent",
        "a data path escaping the spec's folder",
        "check spec.net",
        1,
        "..",
        files={"spec.net": on_csv("../d.csv")},
    ),
    C(
        "allow_path_missing",
        "--allow-path of a folder that does not exist",
        "check spec.net --allow-path nowhere",
        2,
        "nowhere",
        files={"spec.net": SPEC},
    ),
    # resources
    C(
        "huge_dense_check",
        "80 billion parameters, checked (a warning, exit 0)",
        "check spec.net",
        0,
        "W601",
        files={"spec.net": SPEC.replace("dense(8,", "dense(10000000000,")},
    ),
    C(
        "huge_dense_train",
        "80 billion parameters, trained",
        "train spec.net --runs runs",
        1,
        "memory",
        files={"spec.net": SPEC.replace("dense(8,", "dense(10000000000,")},
    ),
    # training
    C(
        "diverges",
        "a learning rate so large the loss overflows",
        "train spec.net --runs runs",
        1,
        "nan",
        files={"spec.net": SPEC.replace("steps = 2", "steps = 50\n    optimizer = sgd(lr=1e30)")},
    ),
    # run folders
    C(
        "runs_read_only",
        "a --runs folder that cannot be written",
        "train spec.net --runs ro",
        1,
        "ro",
        files={"spec.net": SPEC},
        setup=_read_only("ro"),
        posix_only=True,
    ),
    C(
        "runs_under_file",
        "a --runs path under a regular file",
        "train spec.net --runs f/runs",
        1,
        "f",
        files={"spec.net": SPEC, "f": "a file\n"},
    ),
    C(
        "run_dir_is_file",
        "a --run-dir that is a file",
        "train spec.net --run-dir f",
        1,
        "f",
        files={"spec.net": SPEC, "f": "a file\n"},
    ),
    C(
        "run_dir_taken",
        "a --run-dir that holds another run",
        "train spec.net --run-dir run",
        1,
        "resume",
        files={"spec.net": SPEC},
        setup=_run,
    ),
    C(
        "resume_not_run",
        "--resume of a folder that is not a run",
        "train spec.net --resume sub",
        2,
        "sub",
        files={"spec.net": SPEC, "sub/x": ""},
    ),
    C(
        "resume_missing",
        "--resume of a folder that does not exist",
        "train spec.net --resume gone",
        2,
        "gone",
        files={"spec.net": SPEC},
    ),
    C(
        "resume_broken_manifest",
        "--resume of a run whose manifest is not JSON",
        "train spec.net --resume run",
        2,
        "manifest",
        files={"spec.net": SPEC},
        setup=_broken_manifest,
    ),
    C(
        "resume_other_spec",
        "--resume with a spec that changed",
        "train spec.net --resume run",
        1,
        "spec",
        files={"spec.net": WIDER},
        setup=_run,
    ),
    C(
        "resume_other_set",
        "--resume with different --set values",
        "train spec.net --resume run --set width=3",
        2,
        "--set",
        files={"spec.net": SPEC},
        setup=_run,
    ),
    C(
        "resume_other_seed",
        "--resume with a different --seed",
        "train spec.net --resume run --seed 99",
        2,
        "seed",
        files={"spec.net": SPEC},
        setup=_run,
    ),
    C(
        "resume_no_manifest",
        "--resume of a run folder missing its manifest",
        "train spec.net --resume run",
        2,
        "manifest",
        files={"spec.net": SPEC},
        setup=_no_manifest,
    ),
    C(
        "resume_manifest_wrong_type",
        "--resume of a run whose manifest is a list",
        "train spec.net --resume run",
        2,
        "manifest",
        files={"spec.net": SPEC},
        setup=_list_manifest,
    ),
    C(
        "compare_broken_metrics",
        "compare runs whose metrics file is damaged",
        "compare run run2",
        1,
        "metrics",
        setup=_broken_metrics,
    ),
    # checkpoints
    C(
        "ckpt_truncated",
        "eval of a checkpoint cut in half",
        "eval spec.net --checkpoint run/checkpoints/last.safetensors",
        1,
        "truncated",
        files={"spec.net": SPEC},
        setup=_damaged(_truncate),
    ),
    C(
        "ckpt_pickle",
        "eval of a torch.save file",
        "eval spec.net --checkpoint run/checkpoints/last.safetensors",
        1,
        "pickle",
        files={"spec.net": SPEC},
        setup=_damaged(_pickle),
    ),
    C(
        "ckpt_raw_pickle",
        "eval of a plain pickle",
        "eval spec.net --checkpoint run/checkpoints/last.safetensors",
        1,
        "safetensors",
        files={"spec.net": SPEC},
        setup=_damaged(_raw_pickle),
    ),
    C(
        "ckpt_random",
        "eval of random bytes",
        "eval spec.net --checkpoint run/checkpoints/last.safetensors",
        1,
        "safetensors",
        files={"spec.net": SPEC},
        setup=_damaged(_random),
    ),
    C(
        "ckpt_empty",
        "eval of an empty file",
        "eval spec.net --checkpoint run/checkpoints/last.safetensors",
        1,
        "empty",
        files={"spec.net": SPEC},
        setup=_damaged(_empty),
    ),
    C(
        "ckpt_foreign",
        "eval of a safetensors file netspec did not write",
        "eval spec.net --checkpoint run/checkpoints/last.safetensors",
        1,
        "netspec",
        files={"spec.net": SPEC},
        setup=_damaged(_foreign_safetensors),
    ),
    C(
        "ckpt_other_network",
        "eval of another network's checkpoint",
        "eval spec.net --checkpoint run/checkpoints/last.safetensors",
        1,
        "g.",
        "h.",
        files={"spec.net": OTHER},
        setup=_run,
    ),
    C(
        "ckpt_other_shapes",
        "eval of the same network with other sizes",
        "eval spec.net --checkpoint run/checkpoints/last.safetensors",
        1,
        "[9, 4]",
        "[8, 4]",
        files={"spec.net": WIDER},
        setup=_run,
    ),
    C(
        "export_pickle",
        "export with a torch.save file as weights",
        "export spec.net --checkpoint run/checkpoints/last.safetensors -o m.py",
        1,
        "pickle",
        files={"spec.net": SPEC},
        setup=_damaged(_pickle),
    ),
    C(
        "export_other_shapes",
        "export with weights of other sizes",
        "export spec.net --checkpoint run/checkpoints/last.safetensors -o m.py",
        1,
        "[9, 4]",
        files={"spec.net": WIDER},
        setup=_run,
    ),
    C(
        "resume_truncated",
        "--resume of a run whose checkpoint is cut in half",
        "train spec.net --resume run",
        1,
        "truncated",
        files={"spec.net": SPEC},
        setup=_setups(_manifest(lambda m: m.update(status="interrupted")), _truncate_last),
    ),
    C(
        "sample_pickle",
        "sample with a torch.save file",
        "sample rbm.net --checkpoint w.pt",
        1,
        "pickle",
        files={"rbm.net": RBM},
        setup=lambda case, run: _pickle(case / "w.pt"),
    ),
]

assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


def env_allows(case: Case) -> bool:
    """Permission cases mean nothing as root (who reads anything) or without POSIX modes."""
    return not case.posix_only or (os.name == "posix" and os.geteuid() != 0)
