"""The `spoken_digits` source: each sample one digit seen and heard, for multimodal nets.

A sample pairs an 8x8 image of scikit-learn's digits (pixels in [0, 1]) with an utterance of the
same digit's word by the `speech` synthesiser (netspec.data.speech): two views of one object,
from different senses, that agree on the label and on nothing else. Every image is used once;
the images of digit c are paired, in order, with the utterances of word c, which `speech` gives
to its speakers at random, so which voice says which image is drawn from `seed` too.

The sound is summarised to fit a small RBM: the log-mel frames are averaged over `frames` equal
stretches of time (`frames=1`: the word's mean spectrum, its phone order lost), then each value
is standardized with the training speakers' mean and standard deviation (a Gaussian RBM wants
about unit variance). The features are one array, `[64 image | frames * mels sound]`, which two
network inputs share (`input image: [64]` and `input sound: [...]`, declared in that order).

The test split is the utterances of the first `held_out` speakers (voices never heard in
training; their images are never seen either, as each image is used once). `missing` blanks one
modality in that split only: it is set to the training samples' mean, as Ngiam et al. (2011)
set a missing modality to zero in their whitened, zero-mean inputs (`fill="zero"`: zeros). The
standardized sound's training mean is zero, so for the sound both fills agree. A net trained
with both views is then scored on one with `netspec eval ... --set` (see specs/multimodal.net).
`augment` adds a fraction of the training samples twice more, once with the image and once with
the sound blanked, as Ngiam et al. added training examples with one modality zeroed: a net
fine-tuned on them learns to do with either alone.

>>> s = spoken_digits(speakers=10, held_out=2, mels=8, frames=2, missing="none", seed=0)
>>> s.x.shape, s.y.shape, bool(len(s.test_rows) == np.count_nonzero(s.groups < 2))
((1797, 80), (1797,), True)
"""

from __future__ import annotations

import numpy as np

from netspec.data.loading import DataError, Samples, digits
from netspec.data.speech import speech

IMAGE = 64  # values of an image: the first IMAGE features
MODALITIES = ("none", "image", "sound")  # what `missing` may name


def spoken_digits(
    speakers: int,
    held_out: int,
    mels: int,
    frames: int,
    missing: str,
    seed: int,
    fill: str = "mean",
    augment: float = 0.0,
) -> Samples:
    """The 1,797 digit images, each with a spoken word of its digit: `[64 + frames * mels]`
    features, the digit as the class, the speaker as the group; the first `held_out`
    speakers' samples are the test rows, where `missing` ("image", "sound" or "none") is
    blanked with `fill` ("mean" of the training rows, or "zero"); then the `augment` copies."""
    if not 1 <= held_out < speakers:
        raise DataError(
            f"`spoken_digits` holds out held_out={held_out} of speakers={speakers} for "
            "testing: it needs at least 1 and fewer than all, to train on the others"
        )
    image = digits(nudge=False)
    assert image.y is not None
    counts = np.bincount(image.y, minlength=10)
    said = speech(words=10, speakers=speakers, n=10 * int(counts.max()), mels=mels, seed=seed)
    assert said.y is not None and said.groups is not None
    pooled = _pool(said.x, frames)
    sound, who = np.empty((len(image.x), pooled.shape[1])), np.empty(len(image.x), np.int64)
    for c in range(10):
        shown, heard = np.flatnonzero(image.y == c), np.flatnonzero(said.y == c)[: counts[c]]
        sound[shown], who[shown] = pooled[heard], said.groups[heard]
    test = who < held_out
    mean, std = sound[~test].mean(axis=0), sound[~test].std(axis=0)
    x = np.concatenate([image.x, (sound - mean) / np.where(std > 0, std, 1.0)], axis=1)
    fills = {m: _fill(x, ~test, m, fill) for m in MODALITIES[1:]}
    # Which training samples get blanked copies: a stream of its own, apart from `speech`'s.
    extra = np.random.default_rng([seed, 1]).permutation(np.flatnonzero(~test))
    extra = np.sort(extra[: round(augment * len(extra))])
    every = np.ones(len(extra), dtype=bool)
    copies = [_blank(x[extra], every, m, fills) for m in MODALITIES[1:]]
    x = np.concatenate([_blank(x, test, missing, fills), *copies])
    y = np.concatenate([image.y, image.y[extra], image.y[extra]])
    who = np.concatenate([who, who[extra], who[extra]])
    return Samples(x, y, image.names, test_rows=np.flatnonzero(test), groups=who)


def _pool(frames: np.ndarray, count: int) -> np.ndarray:
    """(N, T, mels) frames -> (N, count * mels): the mean frame of each of `count` equal
    stretches of time (their lengths differ by one frame at most), stretch by stretch."""
    stretches = np.array_split(frames, count, axis=1)
    return np.stack([s.mean(axis=1) for s in stretches], axis=1).reshape(len(frames), -1)


def _columns(missing: str) -> slice:
    return slice(0, IMAGE) if missing == "image" else slice(IMAGE, None)


def _fill(x: np.ndarray, train: np.ndarray, missing: str, fill: str) -> np.ndarray:
    """What the `missing` modality's values become: the `train` rows' mean, or zeros."""
    values = x[train, _columns(missing)]
    return values.mean(axis=0) if fill == "mean" else np.zeros(values.shape[1])


def _blank(
    x: np.ndarray, rows: np.ndarray, missing: str, fills: dict[str, np.ndarray]
) -> np.ndarray:
    """`x` with the `missing` modality's values in `rows` replaced by its fill."""
    if missing == "none":
        return x
    x = x.copy()
    x[rows, _columns(missing)] = fills[missing]
    return x
