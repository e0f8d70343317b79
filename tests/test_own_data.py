"""The user's own data: CSV targets and column groups, NPZ arrays by name, folders of images
and WAV clips, and declared normalisation, through `netspec check` and `netspec train`."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from netspec.api import compile_file
from netspec.cli import main
from netspec.data.loading import load
from netspec.data.scaling import read_normalization

PATIENTS = """vitals.hr,vitals.bp,age,stay,outcome
70,120,30,2.5,alive
80,130,40,3.5,dead
75,125,50,1.5,alive
90,140,60,4.0,dead
65,110,35,2.0,alive
85,135,45,3.0,dead
72,118,33,2.2,alive
88,142,58,3.8,dead
"""

PATIENT_NET = """network pat {
    input vitals: [2]
    input age: [1]
    input stay: real
    input outcome: class(2)
    h = concat(vitals, age) -> dense(8, act=relu)
    s = linear(h, 1)
    o = softmax(h, 2)
    loss mse(s, stay)
    loss cross_entropy(o, outcome)
}
train pat {
    data = DATA
    normalize = standard
    epochs = 1
    batch = 4
}
"""


def _runs_in(folder: Path) -> list[Path]:
    """The run folders in a runs root (its index.html beside them left out)."""
    return [p for p in folder.iterdir() if p.is_dir()]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _patients(tmp_path: Path, data: str = 'csv("p.csv", target=["stay", "outcome"])') -> Path:
    (tmp_path / "p.csv").write_text(PATIENTS)
    spec = tmp_path / "p.net"
    spec.write_text(PATIENT_NET.replace("DATA", data))
    return spec


def _trained(capsys: pytest.CaptureFixture[str], spec: Path, runs: Path) -> Path:
    status, _, err = _run(capsys, "train", str(spec), "--quiet", "--runs", str(runs))
    assert status == 0, err
    (run,) = _runs_in(runs)
    return run


# --- CSV ---------------------------------------------------------------------------------------


def test_check_prints_which_columns_feed_which_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, "check", str(_patients(tmp_path)))
    assert status == 0, err
    assert (
        'data: csv("p.csv"): columns vitals.* (2) -> input vitals [2]; column age -> input age '
        "[1]; column stay -> input stay real; column outcome -> input outcome class(2)"
    ) in out


def test_a_csv_with_a_real_and_a_class_target_trains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _patients(tmp_path)
    run = _trained(capsys, spec, tmp_path / "runs")
    assert json.loads((run / "manifest.json").read_text())["normalize"] == "standard"
    compiled = compile_file(spec)
    ds = load(compiled.trains["pat"].data, compiled.networks["pat"])
    assert ds.class_names["outcome"] == ("alive", "dead")
    stay = ds.train.arrays["stay"]
    given = np.float32([2.5, 3.5, 1.5, 4.0, 2.0, 3.0, 2.2, 3.8])
    assert stay.dtype == np.float32 and np.isin(stay, given).all()  # as the file gives them
    assert ds.train.arrays["outcome"].dtype == np.int64


def test_normalisation_statistics_are_the_training_splits_and_kept_in_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _patients(tmp_path, 'csv("p.csv", target=["stay", "outcome"], test=0.25)')
    compiled = compile_file(spec)
    plan, graph = compiled.trains["pat"].data, compiled.networks["pat"]
    scaled = load(plan, graph)
    plain = load(type(plan)(**{**plan.__dict__, "normalize": "none"}), graph)  # same split
    assert set(scaled.normalization) == {"vitals", "age"}  # real feature inputs, not targets
    for name, (mean, std) in scaled.normalization.items():
        seen = plain.train.arrays[name].astype(np.float64)
        np.testing.assert_allclose(mean, seen.mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(std, seen.std(axis=0), rtol=1e-6)
        np.testing.assert_allclose(scaled.train.arrays[name].mean(axis=0), 0.0, atol=1e-5)
        assert plain.test is not None and scaled.test is not None  # held out, scaled alike
        expected = (plain.test.arrays[name] - mean) / std
        np.testing.assert_allclose(scaled.test.arrays[name], expected, rtol=1e-5)
    run = _trained(capsys, spec, tmp_path / "runs")
    kept = read_normalization(run)
    assert set(kept) == {"vitals", "age"}
    for name, (mean, std) in scaled.normalization.items():
        np.testing.assert_array_equal(kept[name][0], mean)
        np.testing.assert_array_equal(kept[name][1], std)


def test_without_normalize_nothing_is_scaled_or_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _patients(tmp_path)
    spec.write_text(spec.read_text().replace("    normalize = standard\n", ""))
    compiled = compile_file(spec)
    ds = load(compiled.trains["pat"].data, compiled.networks["pat"])
    ages = np.float32([30, 40, 50, 60, 35, 45, 33, 58])
    assert not ds.normalization and np.isin(ds.train.arrays["age"], ages).all()


@pytest.mark.parametrize(
    ("data", "code", "said"),
    [
        ('csv("p.csv", target=["stay", "death"])', "E518", "has no column `death`"),
        ('csv("p.csv", target=["stay", "stay"])', "E404", "must name each column once"),
        ('csv("p.csv", target=["stay", "age"])', "E503", "gives features `outcome` as `real`"),
    ],
)
def test_csv_misuse_is_a_diagnostic_from_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: str, code: str, said: str
) -> None:
    status, _, err = _run(capsys, "check", str(_patients(tmp_path, data)))
    assert status == 1 and f"error[{code}]" in err and said in err, err
    assert "Traceback" not in err


def test_a_target_column_no_input_is_named_after_is_e503(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _patients(tmp_path)
    renamed = spec.read_text().replace("input stay", "input days").replace("(s, stay)", "(s, days)")
    spec.write_text(renamed)
    status, _, err = _run(capsys, "check", str(spec))
    assert status == 1 and "error[E503]" in err
    assert "has no input `stay` to take it" in err and "inputs without data: `days`" in err


# --- NPZ ---------------------------------------------------------------------------------------

SIGNAL_NET = """network sig {
    input x: [3]
    input label: class(2)
    p = x -> softmax(2)
    loss cross_entropy(p, label)
}
train sig {
    data = npz("d.npz", test=0.0)
    epochs = 1
}
"""


def _npz(tmp_path: Path, **arrays: np.ndarray) -> Path:
    np.savez(tmp_path / "d.npz", **arrays)  # type: ignore[arg-type]
    spec = tmp_path / "sig.net"
    spec.write_text(SIGNAL_NET)
    return spec


def test_npz_arrays_feed_the_inputs_of_their_names_and_train(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    label = np.array(["no", "yes"] * 5)  # text labels: numbered in sorted order
    spec = _npz(tmp_path, label=label, x=rng.normal(size=(10, 3)))
    status, out, _ = _run(capsys, "check", str(spec))
    assert status == 0
    assert "array label [10] -> input label class(2); array x [10, 3] -> input x [3]" in out
    _trained(capsys, spec, tmp_path / "runs")
    compiled = compile_file(spec)
    ds = load(compiled.trains["sig"].data, compiled.networks["sig"])
    assert ds.class_names["label"] == ("no", "yes")
    np.testing.assert_array_equal(np.sort(ds.train.arrays["label"]), [0] * 5 + [1] * 5)


@pytest.mark.parametrize(
    ("arrays", "said"),
    [
        ({"x": np.zeros((4, 3)), "label": np.zeros(4, int), "w": np.zeros(4)}, "no input `w`"),
        ({"x": np.zeros((4, 3))}, "input `label` of `sig` gets no data from `npz`"),
        ({"x": np.zeros((4, 3)), "label": np.zeros(5, int)}, "`x` 4, `label` 5"),
    ],
)
def test_npz_misuse_is_a_diagnostic_from_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arrays: dict[str, np.ndarray], said: str
) -> None:
    status, _, err = _run(capsys, "check", str(_npz(tmp_path, **arrays)))
    assert status == 1 and said in err and "Traceback" not in err, err


# --- folders -----------------------------------------------------------------------------------

IMAGE_NET = """network pics {
    input image: [1, 6, 6]
    input label: class(3)
    p = image -> flatten -> softmax(3)
    loss cross_entropy(p, label)
}
train pics {
    data = images("pictures", size=[6, 6], test=0.0)
    epochs = 1
}
"""


def _pictures(tmp_path: Path) -> Path:
    from PIL import Image

    for k, name in enumerate(("circle", "square", "star")):
        folder = tmp_path / "pictures" / name
        folder.mkdir(parents=True)
        for i in range(3):
            pixels = np.full((10, 12, 3), 40 * k + 10 * i, dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    spec = tmp_path / "pics.net"
    spec.write_text(IMAGE_NET)
    return spec


def test_an_image_folder_trains_with_its_folder_names_as_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _pictures(tmp_path)
    status, out, _ = _run(capsys, "check", str(spec))
    assert status == 0 and "the images -> input image [1, 6, 6]" in out
    _trained(capsys, spec, tmp_path / "runs")
    compiled = compile_file(spec)
    ds = load(compiled.trains["pics"].data, compiled.networks["pics"])
    assert ds.class_names["label"] == ("circle", "square", "star")
    images = ds.train.arrays["image"]
    assert images.shape == (9, 1, 6, 6) and images.min() >= 0.0 and images.max() <= 1.0


def test_a_bad_image_or_an_empty_class_is_a_diagnostic_from_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _pictures(tmp_path)
    (tmp_path / "pictures" / "star" / "broken.png").write_bytes(b"not a picture")
    status, _, err = _run(capsys, "check", str(spec))
    assert status == 1 and "error[E511]" in err and "broken.png" in err, err
    (tmp_path / "pictures" / "star" / "broken.png").unlink()
    for png in (tmp_path / "pictures" / "star").iterdir():
        png.unlink()
    status, _, err = _run(capsys, "check", str(spec))
    assert status == 1 and "error[E516]" in err and "holds no images" in err, err


WAV_NET = """network clips {
    input sound: [T, 8]
    input label: class(2)
    p = sound -> gru(4, steps=last) -> softmax(2)
    loss cross_entropy(p, label)
}
train clips {
    data = wavs("clips", mels=8, test=0.0)
    epochs = 1
}
"""


def _write_wav(path: Path, seconds: float, hz: float, rate: int = 16000, width: int = 2) -> None:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(width)
        clip.setframerate(rate)
        clip.writeframes(samples.tobytes() if width == 2 else bytes(len(samples)))


def _clips(tmp_path: Path) -> Path:
    for name, hz in (("high", 2000.0), ("low", 300.0)):
        folder = tmp_path / "clips" / name
        folder.mkdir(parents=True)
        for i in range(3):
            _write_wav(folder / f"{i}.wav", 0.05 + 0.02 * i, hz, rate=(16000, 8000)[i % 2])
    spec = tmp_path / "clips.net"
    spec.write_text(WAV_NET)
    return spec


def test_a_wav_folder_trains_on_the_speech_sources_log_mel_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from netspec.data.audio import read_wav
    from netspec.data.speech import FLOOR, log_mel

    spec = _clips(tmp_path)
    assert _run(capsys, "check", str(spec))[0] == 0
    _trained(capsys, spec, tmp_path / "runs")
    compiled = compile_file(spec)
    ds = load(compiled.trains["clips"].data, compiled.networks["clips"])
    frames = ds.train.arrays["sound"]
    longest = log_mel(read_wav(str(tmp_path / "clips" / "low" / "2.wav"))[None], 8)[0]
    assert frames.shape == (6, len(longest), 8)  # T: the longest clip's frames
    short = log_mel(read_wav(str(tmp_path / "clips" / "low" / "0.wav"))[None], 8)[0]
    assert len(short) < len(longest)
    rows = [f for f in frames if np.allclose(f[: len(short)], short, atol=1e-6)]
    assert rows and np.all(rows[0][len(short) :] == FLOOR)  # padded with silence
    assert ds.class_names["label"] == ("high", "low")


def test_a_clip_that_is_not_16_bit_pcm_is_a_diagnostic_from_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _clips(tmp_path)
    _write_wav(tmp_path / "clips" / "low" / "odd.wav", 0.05, 300.0, width=1)
    status, _, err = _run(capsys, "check", str(spec))
    assert status == 1 and "error[E511]" in err and "odd.wav" in err and "8 bits" in err, err
