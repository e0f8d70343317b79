"""Catalogues for `train` sections: settings, data sources, optimizers, schedules and methods."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from netspec.equations import updates
from netspec.equations.expr import Statement
from netspec.types import TensorType
from netspec.units import REGISTRY
from netspec.units.base import REQUIRED, ParamSpec, non_negative, positive, probability

# Pure data: signatures, docs and the paths of the implementations, so checking a spec never
# imports torch or the data sets; the trainer and the loader import an entry's implementation
# where they use it (netspec.data.loading, netspec.training.optim, netspec.training.pretrain).

FEATURES = "features"
TARGET = "target"


@dataclass(frozen=True)
class Field:
    """One array a data source gives per sample; `type` is None when only loading tells."""

    name: str
    role: str  # FEATURES or TARGET
    type: TensorType | None
    columns: tuple[str, ...] = ()  # the CSV columns (or the NPZ array) it holds; (): all x
    needed: bool = False  # named by the user (a target column, an array): it must feed an input
    shown: str = ""  # how `netspec check` names it: "columns vitals.* (3)"; "": `field NAME`


@dataclass(frozen=True)
class Entry:
    """A catalogue entry, written `name(params)` in a train section.

    `impl` is the "package.module:function" that implements it, called with the bound parameters
    as keywords (after what its catalogue hands every entry):
    - a data source: `source(**params) -> netspec.data.loading.Samples`, given its parameters
      but the split's (`test`, `val`, and `seed` unless the source is `seeded`);
    - an optimizer: `optimizer(parameters, **params) -> torch.optim.Optimizer`;
    - a schedule: `schedule(base_lr, total_steps, by_steps, **params)`, a
      `netspec.training.optim.Rate`;
    - a pretraining method: its rule, `rule(module, unit, method, optimizer, batch)`, a
      `netspec.training.pretrain.rules.Rule`.
    """

    name: str
    doc: str
    params: tuple[ParamSpec, ...] = ()
    impl: str = ""
    # An optimizer's update rule as equations (netspec/equations/updates.py), given its
    # parameters as numbers or symbols: what `explain` prints, and the tests run against torch.
    update: Callable[[Mapping[str, Any]], tuple[Statement, ...]] | None = None

    def resolve(self) -> Callable[..., Any]:
        """The implementation, imported on first use.

        >>> OPTIMIZERS["sgd"].impl
        'netspec.training.optim:sgd'
        """
        module, _, name = self.impl.partition(":")
        found: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return found


Fields = Callable[[Mapping[str, Any]], tuple[Field, ...]]


def _no_fields(p: Mapping[str, Any]) -> tuple[Field, ...]:
    return ()


@dataclass(frozen=True)
class Source(Entry):
    """A data source; `fields` gives its fields from its bound parameters."""

    fields: Fields = _no_fields
    files: tuple[str, ...] = ()  # the parameters that name files, relative to the spec
    # Its samples are drawn from `seed`: the implementation is given it, and the loader's cache
    # keys on it (the other sources' samples are the same whatever the seed, which only splits).
    seeded: bool = False


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if low < v < high else f"must be between {low:g} and {high:g} (exclusive)"

    return check


def _at_least(low: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v >= low else f"must be at least {low}"

    return check


# Every source takes these (the loader splits by them); a plugin's source adds them too.
SPLIT = (
    ParamSpec(
        "test", "float", "fraction of the samples held out for testing", 0.2, check=probability
    ),
    ParamSpec(
        "val", "float", "fraction of the samples held out for validation", 0.0, check=probability
    ),
    ParamSpec(
        "seed",
        "int",
        "seed of the split and of generated samples (none: the section's)",
        None,
        check=non_negative,
    ),
)


def _fixed(features: TensorType, feature_name: str, target: TensorType, target_name: str) -> Fields:
    fields = (Field(feature_name, FEATURES, features), Field(target_name, TARGET, target))
    return lambda p: fields


def _labels(k: int) -> TensorType:
    return TensorType((), "class", k)


def _real(*dims: int) -> TensorType:
    return TensorType(tuple(dims))


def _blobs(p: Mapping[str, Any]) -> tuple[Field, ...]:
    return (
        Field("point", FEATURES, _real(p["features"])),
        Field("cluster", TARGET, _labels(p["classes"])),
    )


def _waves(p: Mapping[str, Any]) -> tuple[Field, ...]:
    return (
        Field("signal", FEATURES, _real(p["length"], 1)),
        Field("shape", TARGET, _labels(p["classes"])),
    )


def _bars(p: Mapping[str, Any]) -> tuple[Field, ...]:
    return (
        Field("pixels", FEATURES, _real(p["size"] * p["size"])),
        Field("orientation", TARGET, _labels(2)),
    )


# The reviews' vocabulary: token 0 is `not`, then REVIEW_POLAR positive and REVIEW_POLAR negative
# words, the rest neutral; a sentence needs four odd slots (three sentiment words and a decoy),
# each after room for a `not`.
REVIEW_POLAR = 8
REVIEW_MIN_VOCAB = 2 * REVIEW_POLAR + 8
REVIEW_MIN_LENGTH = 9


def _reviews(p: Mapping[str, Any]) -> tuple[Field, ...]:
    return (
        Field("words", FEATURES, TensorType((p["length"],), "class", p["vocab"])),
        Field("sentiment", TARGET, _labels(2)),
    )


# The tagging lexicon (netspec.data.tagging): `<pad>` and 80 words; 7 tags. A sentence of its
# grammar has 2 to 23 words, and ones of more than 12 are rare, so min_length stops there.
TAGGING_MIN_VOCAB = 81
TAGGING_TAGS = 7


def _tagging(p: Mapping[str, Any]) -> tuple[Field, ...]:
    return (
        Field("words", FEATURES, TensorType((p["max_length"],), "class", p["vocab"])),
        Field("tags", TARGET, TensorType((p["max_length"],), "class", TAGGING_TAGS)),
    )


def _files(p: Mapping[str, Any]) -> tuple[Field, ...]:
    target = (Field("target", TARGET, None),) if p["target"] is not None else ()
    return (Field("features", FEATURES, None), *target)


# The user's files and folders give the fields their headers, member names or subfolders
# name: read (headers only) by netspec.plan.file_fields.


def _csv_fields(p: Mapping[str, Any]) -> tuple[Field, ...]:
    from netspec.plan.file_fields import csv_fields

    return csv_fields(p)


def _npz_fields(p: Mapping[str, Any]) -> tuple[Field, ...]:
    from netspec.plan.file_fields import npz_fields

    return npz_fields(p)


def _folder_labels(p: Mapping[str, Any]) -> Field:
    from netspec.plan.file_fields import class_count

    k = class_count(p["path"])
    return Field("label", TARGET, None if k is None else _labels(k), shown="the folder names")


def _images(p: Mapping[str, Any]) -> tuple[Field, ...]:
    height, width = p["size"]
    pixels = _real(3 if p["color"] else 1, height, width)
    return (Field("image", FEATURES, pixels, shown="the images"), _folder_labels(p))


def _wavs(p: Mapping[str, Any]) -> tuple[Field, ...]:
    return (Field("sound", FEATURES, None, shown="the clips' frames"), _folder_labels(p))


def _column_names(v: Any) -> str | None:
    names = (v,) if isinstance(v, str) else v
    if isinstance(names, tuple) and names and all(_is_text(n) for n in names):
        return None if len(set(names)) == len(names) else "must name each column once"
    return 'must be a column name or a list of them, such as `["stay", "outcome"]`'


def _is_text(v: Any) -> bool:
    from netspec.build.values import Symbol

    return isinstance(v, str) and not isinstance(v, Symbol)


def _size(v: Any) -> str | None:
    if len(v) == 2 and all(d >= 1 for d in v):
        return None
    return "must be [height, width], two positive sizes"


_N = ParamSpec("n", "int", "number of samples to generate", 1000, check=positive)


def _mels(default: int) -> ParamSpec:
    """The spoken sources' frequency resolution."""
    return ParamSpec(
        "mels",
        "int",
        "mel bands per frame (8 to 40)",
        default,
        check=lambda v: None if 8 <= v <= 40 else "must be between 8 and 40",
    )


_NOISE = ParamSpec(
    "noise", "float", "standard deviation of the added noise", 0.1, check=non_negative
)

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "digits",
            "scikit-learn's 1,797 8x8 handwritten digits, pixels scaled to [0, 1]",
            (
                *SPLIT,
                ParamSpec(
                    "nudge",
                    "bool",
                    "add each digit shifted by one pixel up, left, right and down "
                    "(8,985 images, split as one set)",
                    False,
                ),
            ),
            fields=_fixed(_real(64), "pixels", _labels(10), "digit"),
            impl="netspec.data.loading:digits",
        ),
        Source(
            "patches",
            "grey size x size patches, flattened, at random places in the two photos "
            "scikit-learn ships (a Chinese temple, a flower), halved to 213x320 to average "
            "away JPEG noise; ZCA-whitened on the drawn patches, or only centred and scaled "
            "to unit mean variance. Features only, for sparse coding and Gaussian RBMs on "
            "natural images",
            (
                ParamSpec(
                    "size",
                    "int",
                    "side of a patch in pixels (2 to 32)",
                    8,
                    check=lambda v: None if 2 <= v <= 32 else "must be between 2 and 32",
                ),
                ParamSpec("n", "int", "number of patches to draw", 20000, check=positive),
                ParamSpec(
                    "whiten",
                    "bool",
                    "ZCA-whiten the patches (false: only remove each pixel's mean and divide "
                    "by one overall standard deviation)",
                    True,
                ),
                ParamSpec(
                    "eps",
                    "float",
                    "the whitening's epsilon, as a fraction of the mean eigenvalue: small, every "
                    "whitened variance near 1; about 1, the highest frequencies damped (a "
                    "low-pass, as in Olshausen & Field's whitening)",
                    1e-3,
                    check=positive,
                ),
                *SPLIT,
            ),
            fields=lambda p: (Field("patch", FEATURES, _real(p["size"] * p["size"])),),
            impl="netspec.data.patches:patches",
            seeded=True,
        ),
        Source(
            "iris",
            "scikit-learn's 150 iris flowers: 4 measurements, 3 species",
            SPLIT,
            fields=_fixed(_real(4), "measurements", _labels(3), "species"),
            impl="netspec.data.loading:iris",
        ),
        Source(
            "wine",
            "scikit-learn's 178 wines: 13 chemical measurements, 3 cultivars",
            SPLIT,
            fields=_fixed(_real(13), "chemistry", _labels(3), "cultivar"),
            impl="netspec.data.loading:wine",
        ),
        Source(
            "breast_cancer",
            "scikit-learn's 569 breast masses: 30 measurements, 1 = benign",
            SPLIT,
            fields=_fixed(_real(30), "cells", _labels(2), "benign"),
            impl="netspec.data.loading:breast_cancer",
        ),
        Source(
            "diabetes",
            "scikit-learn's 442 patients: 10 measurements, progression after a year",
            SPLIT,
            fields=_fixed(_real(10), "measurements", _real(), "progression"),
            impl="netspec.data.loading:diabetes",
        ),
        Source(
            "mnist1d",
            "MNIST-1D: 10 digit templates as 40-point signals, shifted, scaled, sheared and noised",
            (
                ParamSpec("n", "int", "number of signals", 5000, check=positive),
                ParamSpec(
                    "official",
                    "bool",
                    "the paper's exact set and split: its 1,000 test signals are the test split "
                    "(whenever `test` is above 0), validation is drawn from its 4,000 others",
                    False,
                ),
                *SPLIT,
            ),
            fields=_fixed(_real(40), "signal", _labels(10), "digit"),
            impl="netspec.data.loading:mnist1d",
        ),
        Source(
            "speech",
            "spoken digit words made by a source-filter model (a glottal pulse train through "
            "formant resonators) for many speakers, as [64, mels] log-mel frames (10 ms each); "
            "the class is the word. A second target, `phones`, class(20)[64], is the phone said "
            "at each frame (`sil` outside the word), for a network that also learns those",
            (
                ParamSpec(
                    "words",
                    "int",
                    "how many of the words zero, one, ..., nine (2 to 10)",
                    10,
                    check=lambda v: None if 2 <= v <= 10 else "must be between 2 and 10",
                ),
                ParamSpec("speakers", "int", "number of voices", 20, check=positive),
                ParamSpec("n", "int", "number of utterances", 2000, check=positive),
                _mels(24),
                *SPLIT,
            ),
            # 64 frames: netspec.data.speech.FRAMES
            fields=lambda p: (
                Field("frames", FEATURES, _real(64, p["mels"])),
                Field("word", TARGET, _labels(p["words"])),
                Field("phones", TARGET, TensorType((64,), "class", 20)),
            ),
            impl="netspec.data.speech:speech",
            seeded=True,
        ),
        Source(
            "speech_frames",
            "frame-level phone classification on the `speech` utterances of all ten digit "
            "words: a sample per 10 ms frame, `context` log-mel frames centred on it, "
            "flattened; the class is the phone said at the centre frame (20: `sil`, which "
            "also holds the stop closures, and 19 phones); a Gaussian RBM wants them "
            "scaled with `normalize = standard`. The test split holds out whole speakers",
            (
                ParamSpec("speakers", "int", "number of voices", 20, check=positive),
                ParamSpec(
                    "utterances",
                    "int",
                    "number of utterances, 64 frames (samples) each",
                    200,
                    check=positive,
                ),
                _mels(24),
                ParamSpec(
                    "context",
                    "int",
                    "frames per sample, odd: the centre one and (context - 1) / 2 either side "
                    "(1 to 31)",
                    11,
                    check=lambda v: None if v % 2 and 1 <= v <= 31 else "must be odd, 1 to 31",
                ),
                *SPLIT,
            ),
            # 20 classes: netspec.data.speech.PHONE_CLASSES
            fields=lambda p: (
                Field("frames", FEATURES, _real(p["context"] * p["mels"])),
                Field("phone", TARGET, _labels(20)),
            ),
            impl="netspec.data.speech:speech_frames",
            seeded=True,
        ),
        Source(
            "spoken_digits",
            "two modalities of one digit: each of scikit-learn's 1,797 8x8 digit images "
            "(pixels in [0, 1]) paired with the `speech` word of its digit, summarised to the "
            "mean log-mel frame of `frames` stretches of time and standardized; features "
            "[64 image | frames * mels sound], for two inputs that share them. The test split "
            "is the `held_out` speakers' samples, where `missing` blanks one modality",
            (
                ParamSpec("speakers", "int", "number of voices", 20, check=_at_least(2)),
                ParamSpec(
                    "held_out",
                    "int",
                    "speakers whose samples are the test split (whenever `test` is above 0)",
                    4,
                    check=positive,
                ),
                _mels(8),
                ParamSpec(
                    "frames",
                    "int",
                    "stretches of time the 64 frames are averaged over (1 to 64)",
                    1,
                    check=lambda v: None if 1 <= v <= 64 else "must be between 1 and 64",
                ),
                ParamSpec(
                    "missing",
                    "choice",
                    "the modality blanked in the test split, training untouched (keep test "
                    "above 0: with test=0 the blanked samples are trained on)",
                    "none",
                    ("none", "image", "sound"),
                ),
                ParamSpec(
                    "fill",
                    "choice",
                    "what a missing modality is set to: the training samples' mean, or zeros",
                    "mean",
                    ("mean", "zero"),
                ),
                ParamSpec(
                    "augment",
                    "float",
                    "fraction of the training samples added twice more, once with the image "
                    "and once with the sound blanked, so that the net learns to do without "
                    "either (Ngiam et al. 2011)",
                    0.0,
                    check=lambda v: None if 0 <= v <= 1 else "must be between 0 and 1",
                ),
                *SPLIT,
            ),
            fields=lambda p: (
                Field("pair", FEATURES, _real(64 + p["frames"] * p["mels"])),
                Field("digit", TARGET, _labels(10)),
            ),
            impl="netspec.data.paired:spoken_digits",
            seeded=True,
        ),
        Source(
            "blobs",
            "Gaussian clusters, one per class, in `features` dimensions",
            (
                _N,
                ParamSpec("features", "int", "dimensions of a point", 2, check=positive),
                ParamSpec("classes", "int", "number of clusters", 3, check=_at_least(2)),
                ParamSpec(
                    "spread", "float", "standard deviation of a cluster", 1.0, check=positive
                ),
                *SPLIT,
            ),
            fields=_blobs,
            impl="netspec.data.synthetic:blobs",
            seeded=True,
        ),
        Source(
            "moons",
            "two interleaving half circles in the plane, one per class",
            (
                _N,
                _NOISE,
                *SPLIT,
            ),
            fields=_fixed(_real(2), "point", _labels(2), "moon"),
            impl="netspec.data.synthetic:moons",
            seeded=True,
        ),
        Source(
            "waves",
            "noisy sine, square, triangle and sawtooth waves as [length, 1] sequences; "
            "the class is the wave's shape",
            (
                _N,
                ParamSpec("length", "int", "time steps per sequence", 32, check=positive),
                ParamSpec(
                    "classes",
                    "int",
                    "number of wave shapes (2 to 4)",
                    4,
                    check=lambda v: None if 2 <= v <= 4 else "must be 2, 3 or 4",
                ),
                _NOISE,
                *SPLIT,
            ),
            fields=_waves,
            impl="netspec.data.synthetic:waves",
            seeded=True,
        ),
        Source(
            "bars",
            "bars and stripes: size x size binary images of full rows or full columns, "
            "flattened; the class says which (the classic RBM toy set)",
            (_N, ParamSpec("size", "int", "side of the image", 4, check=_at_least(2)), *SPLIT),
            fields=_bars,
            impl="netspec.data.synthetic:bars",
            seeded=True,
        ),
        Source(
            "reviews",
            "sentences of token ids, with neutral words and 1 or 3 sentiment words, some "
            "negated by a `not` just before them; the class is the majority sentiment "
            "(0 negative, 1 positive). Word order matters, as for real reviews",
            (
                _N,
                ParamSpec(
                    "vocab",
                    "int",
                    "vocabulary size: `not`, 8 positive and 8 negative words, the rest neutral",
                    1000,
                    check=_at_least(REVIEW_MIN_VOCAB),
                ),
                ParamSpec(
                    "length",
                    "int",
                    "words per sentence",
                    20,
                    check=_at_least(REVIEW_MIN_LENGTH),
                ),
                *SPLIT,
            ),
            fields=_reviews,
            impl="netspec.data.synthetic:reviews",
            seeded=True,
        ),
        Source(
            "tagging",
            "sentences of a small grammar (determiners, adjectives, nouns, pronouns, verbs, "
            "modals, prepositions) as token ids padded to `max_length` with id 0 (`<pad>`); "
            "the target is each word's part-of-speech tag, -1 at padded steps (no label: "
            "losses and accuracies leave them out). Words such as `can`, `saw`, `light` and "
            "`fish` have several tags, so a word's tag depends on its context",
            (
                ParamSpec("n", "int", "number of sentences", 3000, check=positive),
                ParamSpec(
                    "vocab",
                    "int",
                    f"vocabulary size: `<pad>`, {TAGGING_MIN_VOCAB - 1} words of the grammar, "
                    "then unambiguous filler nouns, verbs and adjectives",
                    100,
                    check=_at_least(TAGGING_MIN_VOCAB),
                ),
                ParamSpec(
                    "min_length",
                    "int",
                    "fewest words in a sentence (2 to 12)",
                    3,
                    check=lambda v: None if 2 <= v <= 12 else "must be between 2 and 12",
                ),
                ParamSpec(
                    "max_length",
                    "int",
                    "most words in a sentence: the padded length T",
                    16,
                    check=_at_least(2),
                ),
                ParamSpec(
                    "ambiguity",
                    "float",
                    "chance that a word is one with several tags (where its slot has one)",
                    0.5,
                    check=lambda v: None if 0 <= v <= 1 else "must be between 0 and 1",
                ),
                *SPLIT,
            ),
            fields=_tagging,
            impl="netspec.data.tagging:tagging",
            seeded=True,
        ),
        Source(
            "csv",
            "a CSV file with a header; `target` names the label column (or a list of them, "
            "each feeding the input of its name); columns headed `GROUP.NAME` feed the input "
            "GROUP, a column named like an input feeds it, the other columns are `features`",
            (
                ParamSpec("path", "str", "the file, relative to the spec"),
                ParamSpec(
                    "target",
                    "any",
                    "the target column, or a list of them (none: features only)",
                    None,
                    check=_column_names,
                ),
                *SPLIT,
            ),
            fields=_csv_fields,
            files=("path",),
            impl="netspec.data.files:from_csv",
        ),
        Source(
            "npy",
            "NumPy .npy arrays, samples along the first axis: features, and optionally "
            "targets in a second file",
            (
                ParamSpec("path", "str", "the features file, relative to the spec"),
                ParamSpec("target", "str", "the targets file (none: features only)", None),
                *SPLIT,
            ),
            fields=_files,
            files=("path", "target"),
            impl="netspec.data.loading:from_npy",
        ),
        Source(
            "npz",
            "a NumPy .npz archive (`np.savez`): each array feeds the input of its name, "
            "samples along the first axis of every one",
            (ParamSpec("path", "str", "the archive, relative to the spec"), *SPLIT),
            fields=_npz_fields,
            files=("path",),
            impl="netspec.data.files:from_npz",
        ),
        Source(
            "images",
            "a folder of images in one subfolder per class (sorted names: the class ids), "
            "as [C, height, width] pixels in [0, 1]",
            (
                ParamSpec("path", "str", "the folder, relative to the spec"),
                ParamSpec("size", "shape", "[height, width] to resize to", (28, 28), check=_size),
                ParamSpec("color", "bool", "RGB (3 channels); false: grey (1)", False),
                *SPLIT,
            ),
            fields=_images,
            files=("path",),
            impl="netspec.data.images:images",
        ),
        Source(
            "wavs",
            "a folder of 16-bit PCM WAV clips in one subfolder per class (sorted names: the "
            "class ids), as the `speech` source's [T, mels] log-mel frames (10 ms each; T the "
            "longest clip's, shorter ones padded with silence); other rates are resampled to "
            "16 kHz, stereo averaged",
            (
                ParamSpec("path", "str", "the folder, relative to the spec"),
                _mels(24),
                *SPLIT,
            ),
            fields=_wavs,
            files=("path",),
            impl="netspec.data.audio:wavs",
        ),
    )
}


def _lr(default: Any = REQUIRED) -> ParamSpec:
    return ParamSpec("lr", "float", "learning rate", default, check=positive)


_MOMENTUM = ParamSpec("momentum", "float", "momentum factor", 0.0, check=probability)
_WD = ParamSpec(
    "weight_decay", "float", "L2 penalty added to the gradient", 0.0, check=non_negative
)
_EPS = ParamSpec("eps", "float", "added to the denominator for stability", 1e-8, check=positive)
_BETAS = (
    ParamSpec("beta1", "float", "decay of the gradient average", 0.9, check=probability),
    ParamSpec("beta2", "float", "decay of the squared-gradient average", 0.999, check=probability),
)

OPTIMIZERS: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry(
            "sgd",
            "stochastic gradient descent, with optional (Nesterov) momentum",
            (
                _lr(),
                _MOMENTUM,
                ParamSpec("nesterov", "bool", "use Nesterov momentum (needs momentum > 0)", False),
                _WD,
            ),
            impl="netspec.training.optim:sgd",
            update=updates.sgd,
        ),
        Entry(
            "adam",
            "Adam: steps scaled by running averages of the gradient and its square",
            (_lr(1e-3), *_BETAS, _EPS, _WD),
            impl="netspec.training.optim:adam",
            update=updates.adam,
        ),
        Entry(
            "adamw",
            "AdamW: Adam with weight decay applied to the weights directly",
            (
                _lr(1e-3),
                *_BETAS,
                _EPS,
                ParamSpec(
                    "weight_decay", "float", "decoupled weight decay", 0.01, check=non_negative
                ),
            ),
            impl="netspec.training.optim:adamw",
            update=updates.adamw,
        ),
        Entry(
            "rmsprop",
            "RMSprop: steps scaled by a running average of the squared gradient",
            (
                _lr(1e-2),
                ParamSpec(
                    "alpha",
                    "float",
                    "decay of the squared-gradient average",
                    0.99,
                    check=probability,
                ),
                _MOMENTUM,
                _EPS,
                _WD,
            ),
            impl="netspec.training.optim:rmsprop",
            update=updates.rmsprop,
        ),
    )
}

# Schedules count in the stage's unit (epochs, or optimizer steps when the stage sets `steps`),
# except warmups, which always count optimizer steps.
SCHEDULES: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry("constant", "keep the optimizer's learning rate", impl="netspec.training.optim:Rate"),
        Entry(
            "step",
            "multiply the learning rate by `gamma` every `every` epochs (or steps)",
            (
                ParamSpec("every", "int", "epochs (or steps) between decays", check=positive),
                ParamSpec("gamma", "float", "decay factor", 0.1, check=positive),
            ),
            impl="netspec.training.optim:StepDecay",
        ),
        Entry(
            "cosine",
            "anneal the learning rate to `min_lr` along a half cosine over the stage",
            (
                ParamSpec(
                    "warmup", "int", "optimizer steps of linear warmup first", 0, check=non_negative
                ),
                ParamSpec("min_lr", "float", "the final learning rate", 0.0, check=non_negative),
            ),
            impl="netspec.training.optim:Cosine",
        ),
        Entry(
            "warmup",
            "raise the learning rate linearly from 0 over `steps` optimizer steps",
            (ParamSpec("steps", "int", "optimizer steps of warmup", check=positive),),
            impl="netspec.training.optim:Warmup",
        ),
        Entry(
            "plateau",
            "multiply the learning rate by `factor` when the monitored loss stalls",
            (
                ParamSpec(
                    "patience",
                    "int",
                    "epochs without improvement before a decay",
                    5,
                    check=positive,
                ),
                ParamSpec("factor", "float", "decay factor", 0.1, check=_between(0, 1)),
                ParamSpec(
                    "min_lr",
                    "float",
                    "the learning rate never goes below this",
                    0.0,
                    check=non_negative,
                ),
            ),
            impl="netspec.training.optim:Plateau",
        ),
    )
}

_CD_PARAMS = (
    ParamSpec("k", "int", "Gibbs steps per update", 1, check=positive),
    ParamSpec(
        "sparsity",
        "float",
        "pull of the mean hidden activity toward `target`",
        0.0,
        check=non_negative,
    ),
    ParamSpec("target", "float", "target mean hidden activity", 0.05, check=probability),
    ParamSpec(
        "average",
        "float",
        "decay of a moving average of the weights, which the stage ends with (0: none)",
        0.0,
        check=probability,
    ),
)

METHODS: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry(
            "cd",
            "contrastive divergence: k Gibbs steps from the data",
            _CD_PARAMS,
            impl="netspec.training.pretrain.rules:RBMRule",
        ),
        Entry(
            "pcd",
            "persistent contrastive divergence: k Gibbs steps from persistent chains",
            _CD_PARAMS,
            impl="netspec.training.pretrain.rules:RBMRule",
        ),
        Entry(
            "reconstruction",
            "minimise the error of rebuilding the (clean) input from the code",
            (ParamSpec("loss", "choice", "reconstruction error", "mse", ("mse", "bce")),),
            impl="netspec.training.pretrain.rules:AutoencoderRule",
        ),
        Entry(
            "dictionary",
            "alternate sparse inference with the unit's solver and a dictionary "
            "step, keeping atoms at unit norm",
            impl="netspec.training.pretrain.rules:DictionaryRule",
        ),
    )
}


_E = TypeVar("_E", bound=Entry)


def register(setting: str, entry: Entry, *, replace: bool = False) -> Entry:
    """Add a catalogue entry at run time, as `netspec.units.register` adds a unit kind:
    `setting` names the catalogue by the train setting that calls its entries (`data`,
    `optimizer`, `schedule` or `method`); names are unique unless `replace`.

    >>> entry = Entry("frozen_lr", "keep the rate", impl="netspec.training.optim:Rate")
    >>> register("schedule", entry).name in SCHEDULES
    True
    >>> del SCHEDULES["frozen_lr"]
    """
    if ":" not in entry.impl:
        raise ValueError(f'`{entry.name}` needs `impl`, its "package.module:function"')
    if setting == "data":
        return _add(SOURCES, _source(entry), replace)
    tables = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "method": METHODS}
    if setting not in tables:
        raise ValueError(f"no catalogue for `{setting}`: data, {', '.join(tables)}")
    return _add(tables[setting], entry, replace)


def _source(entry: Entry) -> Source:
    if not isinstance(entry, Source):
        raise TypeError(f"data source `{entry.name}` must be a `Source`, with its fields")
    missing = [p.name for p in SPLIT if p.name not in {q.name for q in entry.params}]
    if missing:
        raise ValueError(f"data source `{entry.name}` lacks the split's {missing}: add *SPLIT")
    return entry


def _add(table: dict[str, _E], entry: _E, replace: bool) -> _E:
    if entry.name in table and not replace:
        raise ValueError(f"`{entry.name}` is already in the catalogue")
    table[entry.name] = entry
    return entry


def method_kinds(method: str) -> tuple[str, ...]:
    """The unit kinds a pretraining method applies to, read from the registry.

    >>> method_kinds("cd")
    ('rbm',)
    """
    return tuple(k.name for k in REGISTRY.values() if method in k.pretrain)


def pretrainable_kinds() -> tuple[str, ...]:
    return tuple(k.name for k in REGISTRY.values() if k.pretrain)


NORMALIZE = ("none", "standard")
GRAD_STATS_EVERY = 20  # a measured step costs ~1.6 plain ones: 1 in 20 adds a few per cent

# Settings: `data`, `optimizer`, `schedule` and `method` take catalogue calls, `greedy` and
# `freeze` lists of unit names; the rest are plain values checked by these specs.
SCALARS: dict[str, ParamSpec] = {
    s.name: s
    for s in (
        ParamSpec(
            "batch",
            "int",
            "the number of samples per optimizer step, a positive integer such as 32",
            32,
            check=positive,
        ),
        ParamSpec("seed", "int", "the random seed, a non-negative integer", 0, check=non_negative),
        ParamSpec(
            "device",
            "choice",
            "where to train: `auto` (CUDA when there is a GPU, else the CPU), `cpu` or `cuda`",
            "auto",
            ("auto", "cpu", "cuda"),
        ),
        ParamSpec(
            "precision",
            "choice",
            "the compute precision: `fp32`, or `bf16` (bfloat16 autocast)",
            "fp32",
            ("fp32", "bf16"),
        ),
        ParamSpec(
            "epochs",
            "int",
            "the number of passes over the training data, a positive integer",
            None,
            check=positive,
        ),
        ParamSpec(
            "steps",
            "int",
            "the number of optimizer steps, a positive integer (instead of `epochs`)",
            None,
            check=positive,
        ),
        ParamSpec(
            "early_stop",
            "int",
            "the patience: stop after this many evaluations (epochs, unless `eval_every` is set) "
            "without a better monitored loss, a positive integer or `none`",
            None,
            check=positive,
        ),
        ParamSpec(
            "eval_every",
            "int",
            "the epochs between evaluations of the held-out splits (the monitored loss, the best "
            "weights); default: every epoch with `early_stop` or a `plateau` schedule, else often "
            "enough for about 20 evaluations a stage; the last epoch is always evaluated",
            None,
            check=positive,
        ),
        ParamSpec(
            "clip",
            "float",
            "the largest gradient norm; bigger gradients are scaled down; "
            "a positive number or `none`",
            None,
            check=positive,
        ),
        ParamSpec(
            "normalize",
            "choice",
            "how real feature inputs are scaled: `none` (as the source gives them), or "
            "`standard` (each value less the training split's mean, over its standard deviation)",
            "none",
            NORMALIZE,
        ),
        ParamSpec(
            "grad_stats_every",
            "int",
            "the steps between measurements of each unit's gradient norm, update/weight ratio "
            "and saturation (plots/gradients.svg), a non-negative integer; 0 turns them off",
            GRAD_STATS_EVERY,
            check=non_negative,
        ),
    )
}

DEFAULT_EPOCHS = 10
SECTION_KEYS = ("data", "seed", "device", "precision", "normalize", "grad_stats_every")
SHARED_KEYS = (
    "batch",
    "optimizer",
    "schedule",
    "epochs",
    "steps",
    "early_stop",
    "eval_every",
    "clip",
)
STAGE_KEYS = ("greedy", "method", "freeze")
