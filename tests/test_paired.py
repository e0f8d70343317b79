"""netspec.data.paired: digit images paired with spoken digits, the speaker split, missing views."""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from netspec.api import compile_file
from netspec.data import loading
from netspec.data import paired as pd
from netspec.data import speech as sp
from netspec.plan.catalog import SOURCES

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "multimodal.net"


@pytest.fixture(scope="module", autouse=True)
def _speak_once() -> Iterator[None]:
    """Each voice set is synthesised once for the module (the tests that draw other pairs of
    the same words need not wait for them again); the seeding test calls `speech` afresh."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pd, "speech", cache(sp.speech))
        yield


def _draw(**changes: object) -> loading.Samples:
    args: dict[str, object] = dict(
        speakers=10, held_out=2, mels=8, frames=2, missing="none", seed=0
    )
    args.update(changes)
    return pd.spoken_digits(**args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def both() -> loading.Samples:
    return _draw()


def _fake_speech(words: int, speakers: int, n: int, mels: int, seed: int) -> loading.Samples:
    """Utterances whose every value is their word's number: the pairing can be read back."""
    y = np.random.default_rng(seed).permutation(np.arange(n) % words)
    x = np.broadcast_to(y[:, None, None], (n, 64, mels)).astype(np.float64)
    return loading.Samples(x, y, groups=np.arange(n) % speakers)


def test_a_sample_is_an_image_then_its_pooled_sound(both: loading.Samples) -> None:
    assert both.x.shape == (1797, 64 + 2 * 8) and both.x.dtype == np.float64
    assert both.y is not None and both.y.shape == (1797,) and both.y.dtype == np.int64
    assert both.names == tuple(str(d) for d in range(10))
    image = loading.digits(nudge=False)
    assert np.array_equal(both.x[:, :64], image.x)  # every digit once, in scikit-learn's order
    assert np.array_equal(both.y, image.y)  # type: ignore[arg-type]
    assert both.x[:, :64].min() >= 0.0 and both.x[:, :64].max() <= 1.0


def test_the_catalogue_field_has_the_source_s_width() -> None:
    pair, digit = SOURCES["spoken_digits"].fields({"frames": 2, "mels": 8})
    assert pair.type is not None and pair.type.dims == (80,)
    assert str(digit.type) == "class(10)"


def test_each_image_is_paired_with_its_own_digit_s_word(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pd, "speech", _fake_speech)
    s = _draw(frames=1)
    assert s.y is not None
    sound = s.x[:, 64:]
    assert np.allclose(sound, sound[:, :1])  # the fake word fills every band alike
    # Standardizing is one increasing map for all rows: the sound orders the rows by digit.
    levels = [np.unique(sound[s.y == d, 0].round(9)) for d in range(10)]
    assert all(len(v) == 1 for v in levels)
    assert np.all(np.diff([v[0] for v in levels]) > 0)


def test_the_real_sound_says_the_digit_to_unheard_speakers(both: loading.Samples) -> None:
    """Nearest centroids on the sound alone, fitted on the training speakers, name the digit
    of most test samples (chance: 10 %): the words and images agree."""
    assert both.y is not None and both.test_rows is not None
    test = np.zeros(len(both.x), dtype=bool)
    test[both.test_rows] = True
    sound, y = both.x[:, 64:], both.y
    centroids = np.stack([sound[~test & (y == d)].mean(axis=0) for d in range(10)])
    guess = ((sound[test][:, None] - centroids) ** 2).sum(axis=-1).argmin(axis=1)
    assert float(np.mean(guess == y[test])) > 0.6


def test_the_test_rows_are_the_held_out_speakers(both: loading.Samples) -> None:
    assert both.groups is not None and both.test_rows is not None
    assert np.array_equal(both.test_rows, np.flatnonzero(both.groups < 2))
    assert set(both.groups.tolist()) == set(range(10))
    train = np.setdiff1d(np.arange(len(both.x)), both.test_rows)
    sound = both.x[train, 64:]  # standardized with the training speakers' statistics
    assert np.allclose(sound.mean(axis=0), 0.0) and np.allclose(sound.std(axis=0), 1.0)


def test_the_same_seed_gives_the_same_pairs_and_another_seed_others(
    both: loading.Samples, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pd, "speech", sp.speech)
    again, other = _draw(), _draw(seed=1)
    assert np.array_equal(both.x, again.x) and np.array_equal(both.groups, again.groups)  # type: ignore[arg-type]
    assert np.array_equal(both.x[:, :64], other.x[:, :64])  # the same images
    assert not np.allclose(both.x[:, 64:], other.x[:, 64:])  # other voices say them


@pytest.mark.parametrize(
    ("missing", "fill"), [("image", "mean"), ("image", "zero"), ("sound", "mean")]
)
def test_missing_blanks_one_modality_in_the_test_rows_only(
    both: loading.Samples, missing: str, fill: str
) -> None:
    blanked = _draw(missing=missing, fill=fill)
    assert blanked.test_rows is not None
    test = np.zeros(len(both.x), dtype=bool)
    test[blanked.test_rows] = True
    cols = slice(0, 64) if missing == "image" else slice(64, None)
    kept = slice(64, None) if missing == "image" else slice(0, 64)
    assert np.array_equal(blanked.x[~test], both.x[~test])  # training untouched
    assert np.array_equal(blanked.x[test, kept], both.x[test, kept])
    expected = both.x[~test, cols].mean(axis=0) if fill == "mean" else 0.0
    assert np.allclose(blanked.x[test, cols], expected)
    assert not np.allclose(both.x[test, cols], expected)


def test_augment_adds_training_copies_without_one_modality(both: loading.Samples) -> None:
    more = _draw(augment=0.5)
    assert more.y is not None and both.y is not None and both.test_rows is not None
    k = round(0.5 * (1797 - len(both.test_rows)))
    assert more.x.shape == (1797 + 2 * k, 80)
    assert np.array_equal(more.x[:1797], both.x) and np.array_equal(more.test_rows, both.test_rows)  # type: ignore[arg-type]
    no_image, no_sound = more.x[1797 : 1797 + k], more.x[1797 + k :]
    train = np.setdiff1d(np.arange(1797), both.test_rows)
    assert np.allclose(no_image[:, :64], both.x[train, :64].mean(axis=0))
    assert np.allclose(no_sound[:, 64:], 0.0)  # the standardized sound's training mean
    # Copy j of each kind is the same training sample: its image in one, its sound in the other.
    originals = {row.tobytes(): i for i, row in enumerate(both.x)}
    whole = np.concatenate([no_sound[:, :64], no_image[:, 64:]], axis=1)
    rows = [originals.get(row.tobytes(), -1) for row in whole]
    assert set(rows) <= set(train.tolist()) and len(set(rows)) == k
    assert np.array_equal(more.y[1797 : 1797 + k], both.y[rows])
    assert np.array_equal(more.y[1797 : 1797 + k], more.y[1797 + k :])


def test_holding_out_every_speaker_is_a_data_error() -> None:
    with pytest.raises(loading.DataError, match="held_out=10 of speakers=10"):
        _draw(held_out=10)


def test_drawing_keeps_the_global_generators_and_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pd, "speech", _fake_speech)
    np.random.seed(7)
    random.seed(8)
    torch.manual_seed(9)
    py_state, torch_state = random.getstate(), torch.get_rng_state()
    _draw(augment=1.0)
    assert np.random.random() == np.random.RandomState(7).random()
    assert random.getstate() == py_state
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert list(tmp_path.iterdir()) == []


def test_the_zoo_spec_feeds_both_inputs_and_blanks_the_test_sound() -> None:
    """Through the loader: the spec's two inputs share the features, the test split is the
    held-out speakers, and `--set missing=sound` changes the test split only."""
    graphs = {}
    for missing in ("none", "sound"):
        compiled = compile_file(SPEC, {"missing": missing})
        graphs[missing] = loading.load(
            compiled.trains["multimodal"].data, compiled.networks["multimodal"]
        )
    full, deaf = graphs["none"], graphs["sound"]
    assert full.test is not None and deaf.test is not None
    assert full.train.arrays["image"].shape[1:] == (64,)
    assert full.train.arrays["sound"].shape[1:] == (8,)
    for name in ("image", "sound", "digit"):
        assert np.array_equal(full.train.arrays[name], deaf.train.arrays[name])
    assert np.array_equal(full.test.arrays["image"], deaf.test.arrays["image"])
    assert np.allclose(deaf.test.arrays["sound"], 0.0, atol=1e-6)  # the training mean
    assert not np.allclose(full.test.arrays["sound"], 0.0, atol=0.1)
