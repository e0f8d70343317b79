"""netspec.data.speech: the generated spoken words, their frames, seeding and speaker split."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from netspec.api import compile, compile_file
from netspec.data import loading
from netspec.data import speech as sp
from netspec.diagnostics.core import NetspecError
from netspec.plan.catalog import SOURCES

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "speech_words.net"
PHONES_SPEC = ROOT / "specs" / "speech_phones.net"


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
    frames, word, phones = SOURCES["speech"].fields({"mels": 20, "words": 4})
    assert frames.type is not None and frames.type.dims == (sp.FRAMES, 20)
    assert str(word.type) == "class(4)"
    assert str(phones.type) == f"class({len(sp.PHONE_CLASSES)})[{sp.FRAMES}]"


def test_words_and_mels_choose_the_classes_and_bands() -> None:
    s = sp.speech(words=3, speakers=2, n=9, mels=40, seed=0)
    assert s.x.shape == (9, sp.FRAMES, 40) and s.names == ("zero", "one", "two")
    assert s.y is not None and sorted(set(s.y.tolist())) == [0, 1, 2]
    few = sp.speech(words=10, speakers=2, n=3, mels=20, seed=0)  # some words never said
    assert few.x.shape == (3, sp.FRAMES, 20)


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
    sp.speech_frames(2, 3, 20, 11, seed=0)
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
        frames = sp.log_mel(sp._synthesise(controls, np.random.default_rng(0)), 40)[0]
        vowel = frames[frames.max(axis=1) > 0.9].mean(axis=0)  # iy: F2 near 2.2 kHz
        peaks.append(float(hz[band][vowel[band].argmax()]))
    assert 1.1 < peaks[1] / peaks[0] < 1.4, peaks


# --- speech_frames: a sample per frame, its phone the class -----------------------------------


@pytest.fixture(scope="module")
def frames() -> loading.Samples:
    return sp.speech_frames(speakers=10, utterances=60, mels=24, context=11, seed=0)


def test_a_frame_sample_is_its_context_window_of_the_utterance(frames: loading.Samples) -> None:
    """Sample `i * FRAMES + f` is frames f-5 .. f+5 of utterance i of the same `speech` call,
    flattened frame by frame, with the first and last frames repeated past the ends."""
    words = sp.speech(10, 10, 60, 24, seed=0)
    assert frames.x.shape == (60 * sp.FRAMES, 11 * 24) and frames.x.dtype == np.float64
    windows = frames.x.reshape(60, sp.FRAMES, 11, 24)  # (utterance, centre frame, offset, mel)
    assert np.array_equal(windows[:, :, 5], words.x)
    assert np.array_equal(windows[:, 10, 0], words.x[:, 5])  # 5 frames before frame 10
    assert np.array_equal(windows[:, 0, 0], words.x[:, 0])  # before the start: frame 0 again
    assert np.array_equal(windows[:, -1, -1], words.x[:, -1])
    assert frames.groups is not None and words.groups is not None
    assert np.array_equal(frames.groups, np.repeat(words.groups, sp.FRAMES))


def test_the_classes_are_silence_and_the_phones_but_closures(frames: loading.Samples) -> None:
    assert frames.names == sp.PHONE_CLASSES and len(frames.names) == 20
    assert frames.names[0] == "sil" and not {"t-", "k-"} & set(frames.names)
    assert set(frames.names[1:]) | {"t-", "k-"} == set(sp.PHONES)
    assert frames.y is not None and frames.y.dtype == np.int64
    assert frames.y.min() == 0 and frames.y.max() < 20


def test_each_utterance_says_its_words_phones_in_order(frames: loading.Samples) -> None:
    """Frame by frame, with repeats merged, utterance i's labels are `sil`, its word's phones
    (a closure as `sil`), `sil`: no phone is skipped, however fast the speaker."""
    words = sp.speech(10, 10, 60, 24, seed=0)
    assert frames.y is not None and words.y is not None
    for labels, word in zip(frames.y.reshape(60, sp.FRAMES), words.y, strict=True):
        said = ["sil" if p in sp.CLOSURES else p for p in sp.WORDS[word][1]]
        expected = np.array([0] + [sp.PHONE_CLASSES.index(p) for p in said] + [0])
        assert _merged(labels).tolist() == _merged(expected).tolist(), sp.WORDS[word][0]


def _merged(labels: np.ndarray) -> np.ndarray:
    """`labels` with each run of one value kept once."""
    return labels[np.r_[True, labels[1:] != labels[:-1]]]


def test_the_labels_sit_on_the_sounds_they_name(frames: loading.Samples) -> None:
    """Silence is the quietest, and `s` hisses: its frames are louder above 4 kHz than below
    1 kHz, the vowels' the other way round."""
    assert frames.y is not None
    centre = frames.x.reshape(-1, 11, 24)[:, 5]  # (N, mels) the labelled frame
    hz = np.fft.rfftfreq(sp.FFT, 1.0 / sp.RATE)[sp.mel_filters(24).argmax(axis=0)]
    low, high = hz < 1000, hz > 4000
    vowels = np.isin(frames.y, [sp.PHONE_CLASSES.index(v) for v in ("ih", "ah", "iy", "ay")])
    hiss = frames.y == sp.PHONE_CLASSES.index("s")
    silence = frames.y == 0
    assert centre[silence].mean() < centre[vowels].mean() - 0.3
    assert centre[hiss][:, high].mean() > centre[hiss][:, low].mean() + 0.2
    assert centre[vowels][:, low].mean() > centre[vowels][:, high].mean() + 0.2


def test_the_same_seed_gives_the_same_frames_and_another_seed_others() -> None:
    a, b = (sp.speech_frames(3, 4, 20, 5, seed=1) for _ in range(2))
    c = sp.speech_frames(3, 4, 20, 5, seed=2)
    assert a.x.shape == (4 * sp.FRAMES, 5 * 20)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)  # type: ignore[arg-type]
    assert not np.allclose(a.x, c.x) and not np.array_equal(a.y, c.y)  # type: ignore[arg-type]


def test_the_catalogue_fields_of_speech_frames() -> None:
    window, phone = SOURCES["speech_frames"].fields({"context": 11, "mels": 24})
    assert window.type is not None and window.type.dims == (264,)
    assert str(phone.type) == f"class({len(sp.PHONE_CLASSES)})"
    assert SOURCES["speech_frames"].seeded


def test_phones_are_told_apart_on_held_out_speakers(frames: loading.Samples) -> None:
    """A nearest-centroid classifier on the windows, trained on speakers 0-7, beats always
    saying `sil` on speakers 8 and 9 by far: the phones differ in their sounds."""
    assert frames.y is not None and frames.groups is not None
    held_out = frames.groups >= 8
    train_x, train_y = frames.x[~held_out], frames.y[~held_out]
    centroids = np.stack([train_x[train_y == k].mean(axis=0) for k in range(20)])
    distances = ((frames.x[held_out][:, None] - centroids) ** 2).sum(axis=-1)
    accuracy = float(np.mean(distances.argmin(axis=1) == frames.y[held_out]))
    always_sil = float(np.mean(frames.y[held_out] == 0))
    assert accuracy > always_sil + 0.1, (accuracy, always_sil)


def test_the_phone_spec_standardizes_and_tests_on_unheard_speakers() -> None:
    compiled = compile_file(PHONES_SPEC)
    plan = compiled.trains["speech_phones"].data
    ds = loading.load(plan, compiled.networks["speech_phones"])
    raw = sp.speech_frames(20, 200, 24, 11, seed=0)
    assert raw.groups is not None and ds.test is not None
    test, _, train = loading._split(len(raw.x), plan, raw.y, raw)
    assert set(raw.groups[test]).isdisjoint(raw.groups[train])
    assert len(set(raw.groups[test])) == 12 and ds.test.size == 12 * 10 * sp.FRAMES
    seen = ds.train.arrays["frames"]
    assert np.abs(seen.mean(axis=0)).max() < 1e-4 and np.abs(seen.std(axis=0) - 1).max() < 1e-3
    mean, std = raw.x[train].mean(axis=0), raw.x[train].std(axis=0)
    assert np.allclose(seen, (raw.x[train] - mean) / std, atol=1e-4)


def test_a_context_that_has_no_centre_is_a_diagnostic() -> None:
    """An even window has no centre frame: the spec is refused with the parameter named."""
    spec = PHONES_SPEC.read_text(encoding="utf-8").replace("context=11", "context=10")
    with pytest.raises(NetspecError) as caught:
        compile(spec, "speech_phones.net")
    (diag,) = caught.value.diagnostics
    assert diag.code.startswith("E4") and "`context`" in diag.message, diag.message
    assert "must be odd" in diag.message


def test_speech_gives_each_frames_phone_as_a_second_target() -> None:
    words = sp.speech(10, 2, 20, 24, seed=3)
    phones, names = words.more["phones"]
    frames = sp.speech_frames(2, 20, 24, 1, seed=3)  # the same utterances, frame by frame
    assert names == sp.PHONE_CLASSES
    assert np.array_equal(phones.ravel(), frames.y)
    assert np.array_equal(words.x.reshape(-1, 24), frames.x)


def test_the_multitask_spec_feeds_the_word_and_its_phones_to_their_inputs() -> None:
    compiled = compile_file(SPEC.parent / "multitask.net")
    network = compiled.networks["multitask"]
    ds = loading.load(compiled.trains["multitask"].data, network)
    ids = {network.node(i).label: i for i in ds.train.arrays}
    phones, word = ds.train.arrays[ids["phones"]], ds.train.arrays[ids["word"]]
    assert phones.shape == (ds.train.size, sp.FRAMES) and word.shape == (ds.train.size,)
    assert ds.class_names[ids["phones"]] == sp.PHONE_CLASSES
    silent = sp.PHONE_CLASSES.index("sil")
    assert (phones[:, 0] == silent).all() and (phones != silent).any(axis=1).all()
