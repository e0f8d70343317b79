"""What a unit kind is: its signature, shape rule, parameter count, equation, doc and example.

Everything about one kind lives in one `UnitKind` entry of its family module; the stages read
the entry and never special-case a kind.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from netspec.types import TensorType

if TYPE_CHECKING:
    from netspec.equations.expr import Equations
    from netspec.units.samples import Sample, SampleRule

Value = int | float | bool | str | tuple[Any, ...]
Params = Mapping[str, Value]

REQUIRED: Any = object()  # the default of a parameter that has none
AUTO = "auto"  # a loss's `weight` learned in training (uncertainty weighting)


class ShapeError(Exception):
    """Raised by a shape rule; check turns it into a diagnostic at the unit's call site.

    Messages and helps may name `{input}` (the cause input as written at the call, such as
    `features` or `conv2d(6, 5)`), `{input1}`, `{input2}`, ... (each input by position) and
    `{call}` (the call as written).
    """

    def __init__(
        self,
        code: str,
        message: str,
        label: str = "",
        help: str | None = None,
        input_index: int | None = None,
        related: tuple[int, ...] = (),
        input_help: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.label = label
        self.help = help
        self.input_index = input_index  # which input to point at as the cause, if one is
        self.related = related  # other inputs worth pointing at (the other branch of a merge)
        self.input_help = input_help  # the help when the cause is a declared network input


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a unit kind.

    `type` is one of: int, float, bool, str (a quoted string: a file path), choice, ints (an int
    or a list of ints), shape (a list of ints, one of them may be -1), weight (a float, or
    AUTO: learned). `check` returns a complaint about a well-typed value, or None.
    """

    name: str
    type: str
    doc: str
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Signature:
    """Tensor inputs (fixed names, or variadic with a minimum count), then parameters."""

    inputs: tuple[str, ...] = ("x",)
    params: tuple[ParamSpec, ...] = ()
    variadic: bool = False  # inputs repeat: concat(a, b, c)

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class EquationContext:
    """What an equation needs: the unit's display name, its inputs' names and types, params,
    and the link function (`softmax`, `sigmoid`) each input is the value of, if any (a loss
    reads that link's logits)."""

    name: str
    inputs: tuple[str, ...]
    in_types: tuple[TensorType, ...]
    out_type: TensorType
    params: Params
    in_links: tuple[str, ...] = ()

    def own(self, base: str) -> str:
        """A tensor of this unit named after it: `W_h1`, `z_h1`."""
        return f"{base}_{self.name}"

    def link_of(self, index: int) -> str:
        return self.in_links[index] if index < len(self.in_links) else ""


ShapeRule = Callable[[tuple[TensorType, ...], Params], TensorType]
CountRule = Callable[[tuple[TensorType, ...], Params, TensorType], int]
EquationRule = Callable[[EquationContext], "Equations | str"]


def no_params(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    return 0


NeuronView = Literal["box", "row", "fold", "fold_after_box", "junction", "side_by_side"]
Pictures = Literal["", "filters", "atoms", "templates", "kernels"]
SamplingRole = Literal["", "layer", "join"]


@dataclass(frozen=True)
class SelfLoop:
    """One self-loop of a recurrent unit: a direction it reads its sequence in."""

    label: str  # on the loop: `t-1` (forward) or `t+1` (backward)
    tooltip: str  # what the direction reads, and with `steps=last` which step is kept
    ends: str = ""  # a row of the unit's label: the step the direction's kept state is at


@dataclass(frozen=True)
class Generative:
    """A unit that is a generative model of its input (sparse coding's `x = D z`): drawn with
    the generative arrow from the unit to its input, and its computation as inference."""

    arrow: str  # the generative map, on the arrow from the unit to its input: `D z`
    tooltip: str  # what the arrow means
    inference: str  # the dashed edge from the input to the unit: `infer (FISTA, 20 steps)`


@dataclass(frozen=True)
class Reconstruction:
    """What a unit pretrained to rebuild its input draws beside itself: the corruption of the
    input (if any), the decoder and the reconstruction; none of it is in the forward pass."""

    corrupted: str  # the corrupted input's name, `pixels~`; "" when the input is used clean
    corruption: str  # how it is corrupted: `mask(pixels, 0.3)`
    reconstructed: str  # the reconstruction's name: `pixels^`
    decoder: str  # what computes it: `sigmoid(W_code^T code + b_code)`
    penalty: str = ""  # a term the objective adds to the reconstruction error (a sparsity KL)


@dataclass(frozen=True)
class Drawing:
    """How the two drawings show a kind (views/draw.py and views/neurons.py).

    `neurons` is its place in the neuron view: `row` (a layer of neurons fully connected to
    the row it reads), `fold` (named inside the layer it follows: activations, regularizers),
    `fold_after_box` (folded only into a box, never into a row: pooling after a convolution),
    `junction` (an elementwise merge of rows of its size: a row of junctions), `side_by_side`
    (a concat of rows: the rows themselves), or `box` (a rounded box with its shape).

    The hooks take the unit's name, its input's name and its parameters: `loops` gives a
    recurrent unit's self-loops (None: one `t-1` loop), `generative` a generative model's
    arrow and inference edge, `reconstruction` the pretraining objective drawn beside it.
    An `undirected` unit fed by another one is a deep belief net's layer: the views draw only
    the top pair of such a stack undirected, the couplings below it directed top-down.
    """

    latent: bool = False  # a hidden random variable (RBM, autoencoder, sparse code): an ellipse
    undirected: bool = False  # its input edge is an undirected coupling (an RBM's)
    recurrent: bool = False  # drawn with a self-loop per direction (`t-1`, `t+1`)
    junction: str = ""  # a merge, drawn as a junction circle with this symbol (`+`, `x`, `||`)
    neurons: NeuronView = "box"
    loops: Callable[[str, str, Params], tuple[SelfLoop, ...]] | None = None
    generative: Callable[[str, str, Params], Generative] | None = None
    reconstruction: Callable[[str, str, Params], Reconstruction] | None = None

    def self_loops(self, unit: str, x: str, params: Params) -> tuple[SelfLoop, ...]:
        """The unit's self-loops: none unless recurrent, else its hook's or one `t-1` loop.

        >>> Drawing(recurrent=True).self_loops("h", "x", {})[0].label
        't-1'
        """
        if not self.recurrent:
            return ()
        if self.loops is not None:
            return self.loops(unit, x, params)
        return (SelfLoop("t-1", f"{unit}: recurrent state, h_t from h_(t-1)"),)


@dataclass(frozen=True)
class UnitKind:
    """A registry entry. `role` is `unit` or `loss`; `pretrain` names the unsupervised methods
    a `stage` may apply to it (cd, pcd, reconstruction, dictionary); the method's catalogue
    entry names its rule. The hooks below are what the later stages ask of a kind, so that
    none of them compares kind names."""

    name: str
    family: str
    doc: str
    signature: Signature
    shape: ShapeRule
    equation: EquationRule
    example: str  # a network body that uses the kind; the registry tests compile it
    count: CountRule = no_params
    role: str = "unit"
    pretrain: tuple[str, ...] = ()
    # Its `pretrain` methods' rules as equations (explain --backward of a greedy stage): the
    # `backward` statements are the update of one minibatch. The mapping holds the stage's
    # settings: `method` and its parameters (k, sparsity, target, average, loss), `optimizer`
    # and its (lr, momentum, nesterov, weight_decay, ...).
    pretraining: Callable[[EquationContext, Mapping[str, Any]], Equations] | None = None
    drawing: Drawing = Drawing()
    # Values pass through it unchanged but for their layout (flatten, reshape; dropout at
    # evaluation): unit plots look through it to the network input, samples are carried across.
    layout_only: bool = False
    # What the run's plots draw of a trained module's `pictures()` (one picture a row; torch's
    # own layers: their `weight`): `filters` seen in the network inputs (report/unit_plots),
    # `atoms` of a dictionary, wherever it is; `templates`, a regression unit's weight rows in
    # the layout of the image it reads, one per class, and `kernels`, a convolution's filters
    # and one example's feature maps (report/concept_plots).
    pictures: Pictures = ""
    # Its part in sampling from a network's RBM stack (report/sample.py): `layer` (an RBM of the
    # stack), `join` (a concat of flat layers: split on the way down), or none.
    sampling: SamplingRole = ""
    eager: bool = False  # runs eagerly under `--compile` (torch.compile cannot trace it)
    # "package.module:function" building the torch lowering; a path, so checking never imports
    # torch. Built-in kinds default to netspec.backend.nn.<family module>:<kind>.
    lower: str = ""
    # Draws a call of the kind on inputs it should accept, for the shape oracle that compares
    # check's types with torch's (tests/test_lower.py); None: `flat_sample`, flat real inputs.
    samples: SampleRule | None = None

    @property
    def is_merge(self) -> bool:
        return bool(self.drawing.junction)

    def sample(self, rng: random.Random) -> Sample:
        """One call of this kind on inputs it should accept (its `samples` rule, or the default).

        >>> from netspec.units import REGISTRY
        >>> REGISTRY["rbm"].sample(random.Random(0)).inputs
        ('[7]',)
        """
        from netspec.units.samples import flat_sample  # the samples module builds on this one

        rule = self.samples or flat_sample
        return rule(rng, self)


# Parameter checks shared by the families.
def positive(v: Any) -> str | None:
    values = v if isinstance(v, tuple) else (v,)
    return None if all(x > 0 for x in values) else "must be positive"


def non_negative(v: Any) -> str | None:
    values = v if isinstance(v, tuple) else (v,)
    return None if all(x >= 0 for x in values) else "must not be negative"


def probability(v: Any) -> str | None:
    return None if 0 <= v < 1 else "must be at least 0 and less than 1"


def fmt_dims(*dims: Any) -> str:
    """`256x64`: a weight's shape as written in equations."""
    return "x".join(str(d) for d in dims)


def expect_flat(kind: str, t: TensorType, index: int = 0) -> int:
    """The feature size of a flat real input, or a ShapeError saying what to insert.

    Help texts may name `{input}` (the input as written) and `{call}` (the call as written).
    """
    if not t.is_real:
        raise ShapeError(
            "E305",
            f"`{kind}` expects real-valued features, but its input is {t}",
            "needs [N] real input",
            help="labels feed losses; token ids need `embed` first",
            input_index=index,
        )
    if t.rank != 1:
        if is_sequence(t):
            hint = "take the last step first: `{input} -> last -> {call}`"
        elif t.rank > 1:
            hint = f"insert `flatten` before `{kind}`: `{{input}} -> flatten -> {{call}}`"
        else:
            hint = "give the input a shape such as [N]"
        raise ShapeError(
            "E301",
            f"`{kind}` expects a flat input, but `{{input}}` has shape {t}",
            "needs [N] input",
            help=hint,
            input_index=index,
        )
    size = t.dims[0]
    if not isinstance(size, int):
        raise ShapeError(
            "E301",
            f"`{kind}` needs a fixed input size, but it gets {t}",
            "needs [N] with N a number",
            input_index=index,
            help="sizes that vary per sample need a recurrent unit or pooling first",
        )
    return size


def _is_sequence(t: TensorType) -> bool:
    return t.rank >= 1 and isinstance(t.dims[0], str)


def is_sequence(t: TensorType) -> bool:
    """A [T, ...] tensor whose first size is symbolic."""
    return _is_sequence(t)
