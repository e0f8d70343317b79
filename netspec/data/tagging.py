"""The `tagging` source: sentences of a small probabilistic grammar as token ids, each word's
part-of-speech tag as its target, drawn from `default_rng(seed)`.

The lexicon has lexically ambiguous words (`can` is a modal, a noun or a verb; `saw` a verb or
a noun; `light` an adjective, a noun or a verb), so a word's tag depends on its neighbours:
`they can fish` (MODAL VERB), `they watch the can` (NOUN), `we can the fish` (VERB DET NOUN).
Sentences are padded to `max_length`: token 0 is `<pad>`, and a padded step's tag is
NO_LABEL (-1), which the loader accepts for a sequence target and the losses and accuracies
leave out (netspec.types.NO_LABEL).

>>> s = tagging(4, vocab=90, min_length=3, max_length=12, ambiguity=0.5, seed=0)
>>> s.x.shape, s.y.shape, s.names[:3]
((4, 12), (4, 12), ('DET', 'ADJ', 'NOUN'))
>>> bool(((s.x == PAD) == (s.y == NO_LABEL)).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netspec.data.loading import DataError, Samples
from netspec.plan.catalog import TAGGING_MIN_VOCAB, TAGGING_TAGS
from netspec.types import NO_LABEL

TAGS = ("DET", "ADJ", "NOUN", "PRON", "VERB", "MODAL", "PREP")
DET, ADJ, NOUN, PRON, VERB, MODAL, PREP = range(len(TAGS))
PAD = 0  # the token id of `<pad>`, the filler after a sentence's last word

# Each word with the slots it can fill. Verbs are transitive (`vt`, an object follows) or
# intransitive (`vi`); pronouns are subjects (`ps`) or objects (`po`). No tag of a word
# repeats a slot of another of its tags, so every slot names one tag.
_SLOT_TAG = {"det": DET, "adj": ADJ, "noun": NOUN, "ps": PRON, "po": PRON}
_SLOT_TAG |= {"vt": VERB, "vi": VERB, "modal": MODAL, "prep": PREP}
LEXICON: tuple[tuple[str, tuple[str, ...]], ...] = (
    *((w, ("det",)) for w in ("the", "a", "this", "every", "some", "my", "your")),
    ("her", ("det", "po")),
    ("that", ("det", "ps", "po")),
    *((w, ("ps",)) for w in ("i", "we", "they", "he", "she")),
    ("you", ("ps", "po")),
    ("it", ("ps", "po")),
    *((w, ("po",)) for w in ("me", "us", "them", "him")),
    *((w, ("modal",)) for w in ("must", "may", "should", "might")),
    ("can", ("modal", "noun", "vt")),
    ("will", ("modal", "noun")),
    *((w, ("adj",)) for w in ("old", "big", "small", "red", "happy", "quiet")),
    ("light", ("adj", "noun", "vt")),
    ("fast", ("adj", "vi")),
    ("green", ("adj", "noun")),
    ("fine", ("adj", "noun")),
    *(
        (w, ("noun",))
        for w in ("dog", "cat", "man", "woman", "child", "bird", "boat", "river", "table")
    ),
    *((w, ("noun",)) for w in ("house", "garden", "teacher", "farmer", "window")),
    ("saw", ("noun", "vt")),
    ("flies", ("noun", "vi")),
    ("fish", ("noun", "vt", "vi")),
    ("watch", ("noun", "vt")),
    ("duck", ("noun", "vt", "vi")),
    ("book", ("noun", "vt")),
    ("plant", ("noun", "vt")),
    ("train", ("noun", "vt", "vi")),
    ("bear", ("noun", "vt")),
    ("park", ("noun", "vt")),
    ("rose", ("noun", "vi")),
    *((w, ("vt",)) for w in ("sees", "likes", "finds", "eats", "wants", "follows", "helps")),
    *((w, ("vi",)) for w in ("sleeps", "runs", "sings", "waits", "smiles")),
    *((w, ("prep",)) for w in ("in", "on", "near", "with", "under", "behind")),
    ("like", ("prep", "vt")),
)
# Filler words past the lexicon, up to `vocab`, take turns among these unambiguous slots.
_FILLER_SLOTS = ("noun", "vt", "adj", "noun", "vi")

assert len(TAGS) == TAGGING_TAGS and len(LEXICON) + 1 == TAGGING_MIN_VOCAB


def words(vocab: int) -> tuple[str, ...]:
    """The word of each token id: `<pad>`, the lexicon, then fillers such as `noun_3`."""
    extra = (f"{_FILLER_SLOTS[i % 5]}_{i}" for i in range(vocab - TAGGING_MIN_VOCAB))
    return ("<pad>", *(w for w, _ in LEXICON), *extra)


def _slots(vocab: int) -> list[tuple[str, ...]]:
    """The slots of each token id (none for `<pad>`)."""
    fillers = [(_FILLER_SLOTS[i % 5],) for i in range(vocab - TAGGING_MIN_VOCAB)]
    return [(), *(slots for _, slots in LEXICON), *fillers]


def ambiguous_ids(vocab: int) -> np.ndarray:
    """The token ids whose word has more than one tag."""
    tags = [{_SLOT_TAG[s] for s in slots} for slots in _slots(vocab)]
    return np.array([i for i, t in enumerate(tags) if len(t) > 1], dtype=np.int64)


class _Lexicon:
    """Per slot, its ambiguous and its unambiguous token ids."""

    def __init__(self, vocab: int) -> None:
        ambiguous = set(ambiguous_ids(vocab).tolist())
        self.ids: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        slots = _slots(vocab)
        for slot in _SLOT_TAG:
            having = [i for i, s in enumerate(slots) if slot in s]
            self.ids[slot] = (
                np.array([i for i in having if i in ambiguous], dtype=np.int64),
                np.array([i for i in having if i not in ambiguous], dtype=np.int64),
            )

    def word(self, rng: np.random.Generator, slot: str, ambiguity: float) -> tuple[int, int]:
        """A token id for `slot`, ambiguous with probability `ambiguity` (when it has one)."""
        ambiguous, plain = self.ids[slot]
        wants = rng.random() < ambiguity
        pick = ambiguous if (wants and len(ambiguous)) or not len(plain) else plain
        return int(pick[rng.integers(len(pick))]), _SLOT_TAG[slot]


_ADJECTIVES = (0.55, 0.3, 0.15)  # odds of 0, 1 and 2 adjectives before a noun


def _sentence(rng: np.random.Generator) -> list[str]:
    """The slots of one sentence: S -> NP VP; NP -> DET ADJ{0,2} NOUN [PP] or a pronoun;
    VP -> [MODAL] (VT NP | VI) [PP]; PP -> PREP DET [ADJ] NOUN."""

    def noun_phrase(pp: float, most: int = 2) -> list[str]:
        odds = np.array(_ADJECTIVES[: most + 1])
        adjectives = int(rng.choice(most + 1, p=odds / odds.sum()))
        slots = ["det", *["adj"] * adjectives, "noun"]
        return slots + prep_phrase() if rng.random() < pp else slots

    def prep_phrase() -> list[str]:
        return ["prep", *noun_phrase(0.0, most=1)]

    subject = ["ps"] if rng.random() < 0.25 else noun_phrase(0.2)
    verb = ["modal"] if rng.random() < 0.3 else []
    if rng.random() < 0.65:
        verb += ["vt", *(["po"] if rng.random() < 0.2 else noun_phrase(0.15))]
    else:
        verb += ["vi"]
    return subject + verb + (prep_phrase() if rng.random() < 0.35 else [])


def tagging(
    n: int, vocab: int, min_length: int, max_length: int, ambiguity: float, seed: int
) -> Samples:
    """`n` sentences of `min_length` to `max_length` words (token ids, padded with PAD to
    `max_length`) and their tags (class ids of TAGS, NO_LABEL at padded steps). Each word
    is an ambiguous one with probability `ambiguity`, when its slot has ambiguous words."""
    if vocab < TAGGING_MIN_VOCAB:
        raise DataError(f"`tagging` needs vocab >= {TAGGING_MIN_VOCAB}, but vocab={vocab}")
    if min_length > max_length:
        raise DataError(
            f"`tagging` needs min_length <= max_length, but min_length={min_length} and "
            f"max_length={max_length}"
        )
    rng = np.random.default_rng(seed)
    lexicon = _Lexicon(vocab)
    x = np.full((n, max_length), PAD, dtype=np.int64)
    y = np.full((n, max_length), NO_LABEL, dtype=np.int64)
    for i in range(n):
        slots = _sentence(rng)
        while not min_length <= len(slots) <= max_length:
            slots = _sentence(rng)
        for t, slot in enumerate(slots):
            x[i, t], y[i, t] = lexicon.word(rng, slot, ambiguity)
    return Samples(x, y, TAGS)


@dataclass(frozen=True)
class Baseline:
    """A tagger's accuracy over the real (unpadded) words, and over the ambiguous ones."""

    accuracy: float
    ambiguous: float  # accuracy on the words with more than one tag
    ambiguous_share: float  # their share of the words


def majority_baseline(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, vocab: int
) -> Baseline:
    """Tag each test word with its most frequent tag in the training split (a word never seen
    there with the most frequent tag overall): the classic baseline a tagger must beat.

    >>> x = np.array([[1, 2, 0]]); y = np.array([[0, 2, NO_LABEL]])
    >>> majority_baseline(x, y, x, y, vocab=TAGGING_MIN_VOCAB).accuracy
    1.0
    """
    real = train_y != NO_LABEL
    counts = np.zeros((vocab, len(TAGS)), dtype=np.int64)
    np.add.at(counts, (train_x[real], train_y[real]), 1)
    overall = int(counts.sum(axis=0).argmax())
    guess = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), overall)
    return score(guess[test_x], test_x, test_y, vocab)


def score(predicted: np.ndarray, x: np.ndarray, y: np.ndarray, vocab: int) -> Baseline:
    """Accuracy of predicted tags [N, T] against `y` over its real steps, and on ambiguous
    words (the tagger's figures, computed as for the baseline)."""
    real = y != NO_LABEL
    hits = (predicted == y) & real
    ambiguous = np.isin(x, ambiguous_ids(vocab)) & real
    return Baseline(
        accuracy=float(hits.sum() / real.sum()),
        ambiguous=float((hits & ambiguous).sum() / max(ambiguous.sum(), 1)),
        ambiguous_share=float(ambiguous.sum() / real.sum()),
    )
