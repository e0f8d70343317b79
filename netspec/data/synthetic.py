"""The generated data sources: blobs, moons, waves, bars and reviews, drawn from
`default_rng(seed)`; each is its catalogue entry's implementation, called with the entry's
parameters but the split's.

Each returns `Samples`: float64 features (int64 token ids for reviews) with samples on axis 0,
int64 class ids and the class names. Classes are balanced: sample `i` of `n` gets class `i % k`
before a shuffle, so every class has `n // k` or `n // k + 1` samples.

>>> s = bars(6, 3, seed=0)
>>> s.x.shape, s.y.tolist().count(0), set(s.x.ravel().tolist()), s.names
((6, 9), 3, {0.0, 1.0}, ('rows', 'columns'))
"""

from __future__ import annotations

import numpy as np

from netspec.data.loading import Samples
from netspec.plan.catalog import REVIEW_MIN_LENGTH, REVIEW_MIN_VOCAB, REVIEW_POLAR

WAVE_NAMES = ("sine", "square", "triangle", "sawtooth")
BAR_NAMES = ("rows", "columns")  # class 0: full rows lit, class 1: full columns lit
MOON_NAMES = ("upper", "lower")
SENTIMENT_NAMES = ("negative", "positive")


def _labels(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return rng.permutation(np.arange(n, dtype=np.int64) % k)


def blobs(n: int, features: int, classes: int, spread: float, seed: int) -> Samples:
    """Isotropic Gaussian clusters of standard deviation `spread`, one per class; the centres are
    drawn uniformly from the box [-10, 10]^features (scikit-learn's `make_blobs` default)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10.0, 10.0, size=(classes, features))
    y = _labels(rng, n, classes)
    x = centres[y] + rng.normal(0.0, spread, size=(n, features))
    return Samples(x, y, tuple(str(i) for i in range(classes)))


def moons(n: int, noise: float, seed: int) -> Samples:
    """Two interleaving half circles (scikit-learn's `make_moons` geometry): class 0 on the upper
    arc (cos t, sin t), class 1 on the lower one (1 - cos t, 0.5 - sin t), t uniform in [0, pi],
    plus Gaussian noise of standard deviation `noise`."""
    rng = np.random.default_rng(seed)
    y = _labels(rng, n, 2)
    t = rng.uniform(0.0, np.pi, size=n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where((y == 0)[:, None], upper, lower)
    return Samples(x + rng.normal(0.0, noise, size=(n, 2)), y, MOON_NAMES)


def waves(n: int, length: int, classes: int, noise: float, seed: int) -> Samples:
    """`[length, 1]` sequences of one of the first `classes` shapes of WAVE_NAMES, each with a
    random frequency (1 to 3 cycles per sequence), phase and amplitude (0.5 to 1), plus Gaussian
    noise of standard deviation `noise`."""
    rng = np.random.default_rng(seed)
    y = _labels(rng, n, classes)
    cycles = rng.uniform(1.0, 3.0, size=(n, 1))
    phase = rng.uniform(0.0, 1.0, size=(n, 1))
    amplitude = rng.uniform(0.5, 1.0, size=(n, 1))
    p = cycles * np.arange(length) / length + phase  # position in cycles
    frac = p % 1.0
    shapes = np.stack(
        [
            np.sin(2 * np.pi * p),
            np.where(frac < 0.5, 1.0, -1.0),
            4.0 * np.abs(frac - 0.5) - 1.0,
            2.0 * frac - 1.0,
        ]
    )  # [shape, n, length]
    x = amplitude * shapes[y, np.arange(n)] + rng.normal(0.0, noise, size=(n, length))
    return Samples(x[:, :, None], y, WAVE_NAMES[:classes])


def bars(n: int, size: int, seed: int) -> Samples:
    """Bars and stripes: `size x size` binary images, flattened, in which a random set of rows
    (class 0) or of columns (class 1) is lit; never none or all of them, since those images would
    belong to both classes."""
    rng = np.random.default_rng(seed)
    y = _labels(rng, n, 2)
    lines = rng.random((n, size)) < 0.5
    while True:  # redraw the ambiguous ones: with size >= 2 at most half are
        bad = lines.all(axis=1) | ~lines.any(axis=1)
        if not bad.any():
            break
        lines[bad] = rng.random((int(bad.sum()), size)) < 0.5
    rows = np.broadcast_to(lines[:, :, None], (n, size, size))
    images = np.where((y == 0)[:, None, None], rows, rows.transpose(0, 2, 1))
    return Samples(images.reshape(n, size * size).astype(np.float64), y, BAR_NAMES)


NOT = 0  # the token `not`; the vocabulary's layout is in netspec.plan.catalog
POLAR, MIN_VOCAB, MIN_LENGTH = REVIEW_POLAR, REVIEW_MIN_VOCAB, REVIEW_MIN_LENGTH


def reviews(n: int, vocab: int, length: int, seed: int) -> Samples:
    """Token-id sentences of `length` words whose class (0 negative, 1 positive) is the majority
    sentiment of their 1 or 3 sentiment words, a `not` just before one flipping it.

    Word order matters: `not` also stands before neutral words, where it means nothing, so a
    bag of words cannot tell `not good` from `good ... not film`; a recurrent unit can.

    >>> s = reviews(4, 40, 12, seed=0)
    >>> s.x.shape, s.x.dtype.kind, sorted(s.y.tolist())
    ((4, 12), 'i', [0, 0, 1, 1])
    """
    if vocab < MIN_VOCAB or length < MIN_LENGTH:
        raise ValueError(f"reviews need vocab >= {MIN_VOCAB} and length >= {MIN_LENGTH}")
    rng = np.random.default_rng(seed)
    y = _labels(rng, n, 2)
    x = rng.integers(1 + 2 * POLAR, vocab, size=(n, length))  # neutral filler
    for i in range(n):
        count = 1 if rng.random() < 0.5 else 3
        agree = count if count == 1 else int(rng.integers(2, 4))  # words siding with the class
        sides = rng.permutation([1] * agree + [0] * (count - agree))  # 1: says the class
        # Slots two apart, so every word has room for a `not` just before it.
        slots = 1 + 2 * rng.choice((length - 1) // 2, size=count + 1, replace=False)
        for side, slot in zip(sides, slots[:count], strict=False):
            positive = bool(side) == bool(y[i])
            negated = rng.random() < 0.3
            if negated:
                positive = not positive  # `not bad` is positive
                x[i, slot - 1] = NOT
            word = int(rng.integers(POLAR))
            x[i, slot] = 1 + word if positive else 1 + POLAR + word
        x[i, slots[count] - 1] = NOT  # a `not` before a neutral word: no effect (a decoy)
    return Samples(x.astype(np.int64), y, SENTIMENT_NAMES)
