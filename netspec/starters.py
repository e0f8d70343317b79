"""`netspec new CONCEPT`: a commented starter spec for one node of the tree, taken from the zoo.

The zoo's specs are the starters: each opens with a comment that teaches its concept and trains
on data that ship with a dependency, so a starter checks, trains and explains as it is written.
A concept is named by its spec (`dbn`, `speech_words`) or by a unit kind or common name that the
zoo teaches (`gru` -> `rnn`, `conv2d` -> `cnn`). Wheels carry the zoo as `netspec/zoo/`; a source
checkout reads `specs/` beside the package. Only the standard library is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ALIASES", "Starter", "find", "name_of", "starters"]

# Other names a learner may type for a concept, to the zoo spec that teaches it.
ALIASES = {
    "linear": "linear_regression",
    "logistic": "logistic_regression",
    "softmax": "softmax_regression",
    "perceptron": "mlp",
    "dense": "mlp",
    "backprop": "mlp",
    "vanishing_gradients": "deep_sigmoid",
    "deep_belief_net": "dbn",
    "denoising_autoencoder": "autoencoder",
    "sparse_code": "sparse_coding",
    "dictionary": "sparse_coding",
    "conv2d": "cnn",
    "lenet": "cnn",
    "conv1d": "cnn1d",
    "gru": "rnn",
    "recurrent": "rnn",
    "lstm": "lstm_text",
    "embed": "lstm_text",
    "speech": "speech_words",
    "resnet": "residual",
    "pos_tagging": "tagger",
    "tagging": "tagger",
    "acoustic_model": "speech_phones",
    "phones": "speech_phones",
    "gaussian_rbm": "patch_rbm",
    "natural_images": "patch_sparse_coding",
    "mnist1d": "mnist1d_mlp",
    "auxiliary_task": "multitask",
    "uncertainty_weighting": "multitask",
    "missing_modality": "multimodal",
}


@dataclass(frozen=True)
class Starter:
    name: str  # the zoo spec's stem
    path: Path
    idea: str  # the first line of its opening comment

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def _zoo() -> Path:
    package = Path(__file__).resolve().parent
    shipped = package / "zoo"
    return shipped if shipped.is_dir() else package.parent / "specs"


def starters() -> dict[str, Starter]:
    """Every zoo spec by name, in name order."""
    found = {}
    for path in sorted(_zoo().glob("*.net")):
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        found[path.stem] = Starter(path.stem, path, first.lstrip("#").strip())
    return found


def name_of(concept: str) -> str:
    """The zoo spec's name that `concept` stands for: the name itself or an alias (`-` and `_`
    alike, any case)."""
    key = concept.strip().lower().replace("-", "_")
    return ALIASES.get(key, key)


def find(concept: str) -> Starter | None:
    """The starter for `concept`; None if the zoo has none."""
    return starters().get(name_of(concept))
