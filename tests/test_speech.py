"""netspec.data.speech: the generated spoken words, their frames, seeding and speaker split."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from netspec.api import compile_file
from netspec.data import loading
from netspec.data import speech as sp
from netspec.plan.catalog import SOURCES

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "speech_words.net"


@pytest.fixture(scope="module")
def small() -> loading.Samples:
    return sp.speech(words=10, speakers=10, n=400, mels=24, seed=0)


def test_utterances_are_fixed_length_log_mel_frames(small: loading.Samples) -> None:
    assert small.x.shape == (400, sp.FRAMES, 24) and small.x.dtype == np.float64
    assert np.isfinite(small.x).all()
    assert small.x.max() == pytest.approx(1.0)  # each utterance's loudest band is 0 dB
    assert small.x.min() >= -1.0  # nothing below the 80 dB floor
    assert small.y is not None and small.y.dtype == np.int64
    assert np.bincount(small.y).tolist() == [40] * 10
    assert small.names == (
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
    )


def test_the_catalogue_field_has_the_frames_of_the_source() -> None:
    frames, word = SOURCES["speech"].fields({"mels": 20, "words": 4})
    assert frames.type is not None and frames.type.dims == (sp.FRAMES, 20)
    assert str(word.type) == "class(4)"


def test_words_and_mels_choose_the_classes_and_bands() -> None:
    s = sp.speech(words=3, speakers=2, n=9, mels=40, seed=0)
    assert s.x.shape == (9, sp.FRAMES, 40) and s.names == ("zero", "one", "two")
    assert s.y is not None and sorted(set(s.y.tolist())) == [0, 1, 2]


def test_the_same_seed_gives_the_same_utterances_and_another_seed_others() -> None:
    a, b = (sp.speech(4, 3, 12, 20, seed=1) for _ in range(2))
    c = sp.speech(4, 3, 12, 20, seed=2)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)  # type: ignore[arg-type]
    assert not np.allclose(a.x, c.x)


def test_generating_keeps_the_global_generators_and_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    np.random.seed(7)
    random.seed(8)
    py_state = random.getstate()
    sp.speech(4, 2, 8, 20, seed=0)
    assert np.random.random() == np.random.RandomState(7).random()
    assert random.getstate() == py_state
    assert list(tmp_path.iterdir()) == []


def test_each_utterance_belongs_to_its_speaker(small: loading.Samples) -> None:
    assert small.groups is not None
    assert np.array_equal(small.groups, np.arange(400) % 10)


def test_words_are_told_apart_on_held_out_speakers(small: loading.Samples) -> None:
    """A nearest-centroid classifier on the mean frame, trained on speakers 0-7 and tested on
    speakers 8 and 9, beats chance (10 %) by far: the words differ in their sounds."""
    assert small.y is not None and small.groups is not None
    features, held_out = small.x.mean(axis=1), small.groups >= 8
    train_x, train_y = features[~held_out], small.y[~held_out]
    centroids = np.stack([train_x[train_y == k].mean(axis=0) for k in range(10)])
    distances = ((features[held_out][:, None] - centroids) ** 2).sum(axis=-1)
    accuracy = float(np.mean(distances.argmin(axis=1) == small.y[held_out]))
    assert accuracy > 0.3, accuracy


def test_the_zoo_spec_tests_on_speakers_it_never_trained_on() -> None:
    compiled = compile_file(SPEC)
    plan = compiled.trains["speech_words"].data
    ds = loading.load(plan, compiled.networks["speech_words"])
    assert ds.test is not None
    raw = sp.speech(10, 20, 2000, 24, seed=0)
    assert raw.groups is not None
    speaker = {
        row.astype(np.float32).tobytes(): int(g) for row, g in zip(raw.x, raw.groups, strict=True)
    }
    heard = {speaker[row.tobytes()] for row in ds.train.arrays["frames"]}
    tested = {speaker[row.tobytes()] for row in ds.test.arrays["frames"]}
    assert heard.isdisjoint(tested) and len(heard) + len(tested) == 20
    assert ds.test.size == 400


def test_a_resonator_peaks_at_its_formant() -> None:
    """The 2nd-order IIR of the module docstring, run on an impulse: its spectrum's peak is at
    the formant frequency, and its gain at 0 Hz is 1."""
    a, b, c = (float(v) for v in sp._coefficients(np.array(700.0), np.array(80.0)))
    y = np.zeros(4096)
    for t in range(len(y)):
        y[t] = a * (t == 0) + b * (y[t - 1] if t else 0.0) + c * (y[t - 2] if t > 1 else 0.0)
    spectrum = np.abs(np.fft.rfft(y))
    peak = np.fft.rfftfreq(len(y), 1.0 / sp.RATE)[spectrum.argmax()]
    assert abs(peak - 700.0) < 10.0
    assert spectrum[0] == pytest.approx(1.0, rel=1e-3)


def test_a_shorter_vocal_tract_moves_the_formants_up() -> None:
    """The same vowel by a tract whose formants are scaled by 1.25 has its F2 peak (in the mel
    bands between 1.5 and 3.5 kHz) about 1.25 times higher."""
    hz = np.fft.rfftfreq(sp.FFT, 1.0 / sp.RATE)[sp.mel_filters(40).argmax(axis=0)]
    band = (hz > 1500) & (hz < 3500)
    peaks = []
    for tract in (1.0, 1.25):
        voice = sp.Speakers(
            np.array([110.0]), np.array([tract]), np.array([1.0]), np.zeros((1, len(sp.PHONES), 3))
        )
        controls = sp._controls(("iy",), voice, np.zeros(1, dtype=int), np.random.default_rng(0))
        frames = sp._log_mel(sp._synthesise(controls, np.random.default_rng(0)), 40)[0]
        vowel = frames[frames.max(axis=1) > 0.9].mean(axis=0)  # iy: F2 near 2.2 kHz
        peaks.append(float(hz[band][vowel[band].argmax()]))
    assert 1.1 < peaks[1] / peaks[0] < 1.4, peaks
