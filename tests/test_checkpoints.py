"""A checkpoint netspec cannot use gets one coded message per kind of damage -- a pickle, not
safetensors at all, truncated, not netspec's, another network's, another spec's -- listing every
tensor that does not fit, from `eval`, `export` and `train --resume` alike."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import netspec
from netspec.backend.lower import lower
from netspec.cli import main
from netspec.diagnostics.codes import CODES
from netspec.training import checkfile, runs

SPEC = """
network blob {
    input point: [2]
    input cluster: class(3)
    h = point -> dense(4, act=relu)
    y = softmax(h, 3)
    loss cross_entropy(y, cluster)
}

train blob {
    data = blobs(n=60, classes=3, spread=2.0, test=0.2, seed=1)
    batch = 16
    optimizer = adam(lr=0.01)
    steps = 2
}
"""

Cli = Callable[..., tuple[int, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        status = main(list(argv))
        return status, capsys.readouterr().err

    return run


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "blob.net"
    path.write_text(SPEC)
    return path


def _weights(spec_text: str) -> dict[str, torch.Tensor]:
    compiled = netspec.compile(spec_text, "blob.net")
    return lower(compiled.network(), compiled.sources).root.state_dict()


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    """A netspec checkpoint of `blob` (its model/ tensors and netspec metadata)."""
    path = tmp_path / "last.safetensors"
    tensors = {f"model/{k}": v for k, v in _weights(SPEC).items()}
    runs.save_checkpoint(path, tensors, {"network": "blob", "stage": "main"})
    return path


def _export(cli: Cli, spec: Path, ckpt: Path) -> tuple[int, str]:
    return cli("export", str(spec), "--checkpoint", str(ckpt), "-o", str(ckpt.parent / "out.py"))


# --- files that are no safetensors checkpoint -----------------------------------------------------


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("name", ["weights.pt", "weights.safetensors"])
def test_a_pytorch_pickle_is_named_as_one(
    cli: Cli, spec: Path, tmp_path: Path, name: str, zipped: bool
) -> None:
    path = tmp_path / name
    torch.save(_weights(SPEC), path, _use_new_zipfile_serialization=zipped)
    status, err = _export(cli, spec, path)
    assert status == 1 and "error[E711]" in err
    assert "looks like a PyTorch pickle (torch.save); netspec reads only safetensors" in err
    assert "safetensors.torch.save_file" in err and "Traceback" not in err


def test_a_file_of_another_format_is_not_safetensors(cli: Cli, spec: Path, tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00" + b"GIF89a" * 20)
    status, err = _export(cli, spec, path)
    assert status == 1 and f"error[E712]: {path} is not a safetensors file" in err
    assert "deserializing" not in err


@pytest.mark.parametrize(
    ("keep", "why"),
    [
        (lambda n: 0, "it is empty"),
        (lambda n: 5, "less than a safetensors header's size"),
        (lambda n: 40, "but its header alone needs"),
        (lambda n: n - 4, "but its header describes"),
    ],
    ids=["empty", "in-length", "in-header", "in-tensors"],
)
def test_a_truncated_checkpoint_says_it_is_truncated(
    cli: Cli, spec: Path, checkpoint: Path, keep: Callable[[int], int], why: str
) -> None:
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: keep(len(data))])
    status, err = _export(cli, spec, checkpoint)
    assert status == 1 and f"error[E713]: checkpoint {checkpoint} is truncated: " in err
    assert why in err and "deserializing" not in err


# --- safetensors files that do not fit the network ------------------------------------------------


def test_a_plain_safetensors_file_that_does_not_fit_is_not_a_netspec_checkpoint(
    cli: Cli, spec: Path, tmp_path: Path
) -> None:
    path = tmp_path / "plain.safetensors"
    save_file({"encoder.weight": torch.zeros(3, 3)}, str(path))
    status, err = _export(cli, spec, path)
    assert status == 1 and "error[E714]" in err and "not a netspec checkpoint" in err
    assert "4 missing, 1 unexpected" in err and "unexpected: encoder.weight [3, 3]" in err


def test_a_plain_state_dict_that_fits_is_still_exported(
    cli: Cli, spec: Path, tmp_path: Path
) -> None:
    path = tmp_path / "plain.safetensors"
    save_file(_weights(SPEC), str(path))
    assert _export(cli, spec, path)[0] == 0


def test_another_networks_checkpoint_lists_every_missing_and_unexpected_tensor(
    cli: Cli, tmp_path: Path, checkpoint: Path
) -> None:
    other = tmp_path / "other.net"
    other.write_text(SPEC.replace("h = point", "g = point").replace("softmax(h", "softmax(g"))
    status, err = cli("eval", str(other), "--checkpoint", str(checkpoint))
    assert status == 1 and "error[E715]" in err
    assert (
        "does not fit network `blob`: it holds another network's weights" in err
        and "2 missing, 2 unexpected" in err
    )
    for line in ("missing: g.weight [4, 2]", "missing: g.bias [4]", "unexpected: h.weight [4, 2]"):
        assert line in err
    assert "unexpected: h.bias [4]" in err


def test_a_checkpoint_of_another_spec_lists_every_shape_with_both_sides(
    cli: Cli, tmp_path: Path, checkpoint: Path
) -> None:
    wider = tmp_path / "wider.net"
    wider.write_text(SPEC.replace("dense(4", "dense(5"))
    status, err = _export(cli, wider, checkpoint)
    assert status == 1 and "error[E716]" in err
    assert "does not fit network `blob`: it is from a different spec" in err
    assert "3 of its tensors have other shapes" in err
    assert "h.weight is [4, 2] in the checkpoint, [5, 2] in the network" in err
    assert "h.bias is [4] in the checkpoint, [5] in the network" in err
    assert "y.weight is [3, 4] in the checkpoint, [3, 5] in the network" in err
    assert "load_state_dict" not in err and "size mismatch" not in err


def test_check_fit_names_the_network_the_checkpoint_was_written_for(checkpoint: Path) -> None:
    ckpt = runs.load_checkpoint(checkpoint)
    with pytest.raises(checkfile.CheckpointError) as caught:
        checkfile.check_fit({"w": torch.zeros(1)}, ckpt.model_state(), ckpt, "other")
    assert caught.value.code == "E715"
    assert "another network's weights (it was written for network `blob`)" in caught.value.message


# --- resuming from a damaged checkpoint -----------------------------------------------------------


def _stopped_run(cli: Cli, spec: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    assert cli("train", str(spec), "--quiet", "--run-dir", str(run), "--max-steps", "1")[0] == 0
    return run


def test_resuming_from_a_truncated_checkpoint_says_so(cli: Cli, spec: Path, tmp_path: Path) -> None:
    run = _stopped_run(cli, spec, tmp_path)
    last = run / "checkpoints" / "last.safetensors"
    last.write_bytes(last.read_bytes()[:-100])
    status, err = cli("train", str(spec), "--quiet", "--resume", str(run))
    assert status == 1 and f"error[E713]: checkpoint {last} is truncated" in err
    assert json.loads((run / "manifest.json").read_text())["status"] == "stopped"  # not failed


def test_resuming_from_a_weights_only_checkpoint_is_refused(
    cli: Cli, spec: Path, tmp_path: Path, checkpoint: Path
) -> None:
    run = _stopped_run(cli, spec, tmp_path)
    checkpoint.replace(run / "checkpoints" / "last.safetensors")  # as after-<stage>'s: weights
    status, err = cli("train", str(spec), "--quiet", "--resume", str(run))
    assert status == 1 and "error[E717]" in err and "without a run's state" in err


# --- the codes ------------------------------------------------------------------------------------


def test_every_run_folder_and_checkpoint_code_has_an_explanation_page() -> None:
    root = Path(runs.__file__).parent
    sources = [root / "runs.py", root / "checkfile.py", root / "run.py"]
    used = {c for path in sources for c in re.findall(r'"(E7[0-2]\d)"', path.read_text())}
    assert {"E702", "E703", "E710", "E711", "E712", "E713", "E715", "E716"} <= used
    assert all(code in CODES and len(CODES[code].explanation) > 80 for code in used)
