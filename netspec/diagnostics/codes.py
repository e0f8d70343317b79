"""Stable diagnostic codes and their explanations (`netspec explain E301`).

E1xx source and syntax, E2xx names and graph, E3xx shapes, E4xx parameters, E5xx data and training.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    title: str
    explanation: str


CODES: dict[str, Code] = {
    "E100": Code(
        "cannot read a source file",
        "The file named on the command line does not exist, cannot be read, or is not UTF-8 "
        "text. Check the path; it is relative to the current directory.",
    ),
    "E101": Code(
        "unexpected token",
        "The parser met a word or symbol it cannot use at that point. The message lists what it "
        "expected instead. A file holds `network`, `block`, `train`, `let` and `use` items; a "
        "network body holds `input`, `let`, `name = value`, `output` and `loss`. A misspelt "
        "keyword, a keyword used as a name, and a bracket closed by the wrong bracket or left "
        "open before the next statement are reported here too.",
    ),
    "E102": Code(
        "unexpected character",
        "A character that is not part of the language, such as `;` or `'`, or a string that is "
        "not closed on its line. Comments start with `#`; strings use double quotes.",
    ),
    "E103": Code(
        "unexpected end of file",
        "The file ended in the middle of something, most often a `{` without its `}`.",
    ),
    "E104": Code(
        "a common syntax mistake",
        "A known slip, such as `f(a: 1)` for `f(a=1)`, a missing comma between arguments, "
        "`input x = [4]` for `input x: [4]`, a chain ending with `->` or written with `=>`, two "
        "steps without `->` between them, a value with no name (`x -> relu` alone), or `n = 64` "
        "for `let n = 64`. The help line shows the corrected line.",
    ),
    "E201": Code(
        "unknown unit kind",
        "A call names neither a built-in unit kind nor a `block`. `did you mean` suggests the "
        "closest kind. `netspec explain units` lists every kind with its parameters.",
    ),
    "E202": Code(
        "unknown name",
        "A name is used as a tensor but no `input` or assignment defines it in this network or "
        "block. Names may be used before the line that defines them.",
    ),
    "E203": Code(
        "name defined twice",
        "Two inputs, assignments or `let`s in the same scope share a name. Each name stands for "
        "one value.",
    ),
    "E204": Code(
        "cycle",
        "A value depends on itself, directly or through other names, or a block calls itself. "
        "Networks are acyclic graphs; recurrence is written with `rnn`, `lstm` or `gru`, and "
        "repetition with `* n`.",
    ),
    "E205": Code(
        "wrong number of values",
        "The number of names on the left of `=` differs from the number of values the right "
        "side gives, or `->` receives several values. Only a block with several `output`s gives "
        "several values.",
    ),
    "E206": Code(
        "loss used in the wrong place",
        "A `loss` statement must end in a loss kind (`cross_entropy`, `bce`, `mse`, `l1`), loss "
        "kinds appear only in `loss` statements, losses live in networks rather than blocks, "
        "and a tensor name cannot be called like a unit.",
    ),
    "E207": Code(
        "unknown network",
        "A `train` section names a network that the file (and the files it `use`s) do not define.",
    ),
    "E209": Code(
        "bad import",
        'A `use "file.net"` names a file that cannot be read, or imports form a cycle. Paths '
        "are relative to the importing file.",
    ),
    "E210": Code(
        "item defined twice",
        "Two top-level items (networks, blocks, lets, here or in used files) share a name, or a "
        "block takes the name of a built-in unit kind.",
    ),
    "E211": Code(
        "block without output",
        "A block must say what it gives back with `output name` (several names give several "
        "values).",
    ),
    "E213": Code(
        "bad command-line override",
        "`--set name=value` must name a top-level `let` of the spec, a train setting "
        "(`epochs`), one stage's setting (`finetune.batch`) or a named loss's parameter "
        "(`reconstruct.weight`), and give a value written as in the language: a number, a "
        "name, a string or a list.",
    ),
    "E214": Code(
        "value where a tensor is expected",
        "A number, string, list or `let` name stands where a unit needs an input tensor.",
    ),
    "E215": Code(
        "bad input type",
        "An input's type is a shape such as `[1, 8, 8]` (real values), `class(N)` with N of at "
        "least 2 (integer labels or token ids, optionally with a shape: `class(1000)[T]`), "
        "`binary` or `real`, each optionally followed by a shape. Network inputs need a type.",
    ),
    "E216": Code(
        "typed block input",
        "A block's inputs take their shapes from each call site, so they are written without a "
        "type: `input x`.",
    ),
    "E301": Code(
        "wrong input rank",
        "A unit received a tensor of the wrong rank: `dense`, `rbm` and the other flat units "
        "need [N], `conv2d` needs [C, H, W], `conv1d` needs [C, L]. Insert `flatten`, `reshape` "
        "or `last` between them, as the help line shows.",
    ),
    "E302": Code(
        "branches do not fit",
        "A merge got branches whose shapes do not line up: `add` and `mul` need equal shapes, "
        "`concat` needs equal shapes apart from the joined axis.",
    ),
    "E303": Code(
        "window larger than input",
        "A convolution or pooling window (with its padding) does not fit in the input, so the "
        "output would have no elements. Use a smaller kernel, padding, or fewer pooling steps "
        "before it.",
    ),
    "E304": Code(
        "prediction and target do not fit",
        "A loss got a prediction and target of different shapes or kinds: `cross_entropy` pairs "
        "[K] scores with class(K) labels, `bce` pairs [K] with binary[K], `mse` and `l1` pair "
        "equal real shapes.",
    ),
    "E305": Code(
        "wrong element type",
        "A unit got labels where it needs real values, or real values where it needs token ids "
        "(`embed` takes class(V) input).",
    ),
    "E306": Code(
        "bad reshape",
        "`reshape` must keep the number of values per sample, and needs a fixed input shape.",
    ),
    "E307": Code(
        "sequence expected",
        "Recurrent units and `last` take a sequence [T, N]; declare the input with a symbolic "
        "length, e.g. `input x: [T, 1]`.",
    ),
    "E401": Code(
        "unknown parameter",
        "A keyword argument names no parameter of the unit kind (or block). `did you mean` "
        "suggests the closest one; `netspec explain units` lists them.",
    ),
    "E402": Code(
        "missing parameter",
        "A required parameter was not given, by position or by name.",
    ),
    "E403": Code(
        "wrong argument type",
        "A parameter got a value of the wrong type, e.g. a name where a number is needed. The "
        "message names the parameter and the value it got.",
    ),
    "E404": Code(
        "value out of range",
        "A parameter, size or count has the right type but an impossible value, e.g. a negative "
        "size or a dropout probability of 1, or values that do not go together (`sparsity` "
        "on an autoencoder whose codes are not sigmoid probabilities).",
    ),
    "E405": Code(
        "too many arguments",
        "A call passes more positional arguments than the unit kind has parameters.",
    ),
    "E406": Code(
        "parameter given twice",
        "A parameter was given both by position and by name, or named twice.",
    ),
    "E407": Code(
        "wrong number of inputs",
        "A unit got more or fewer input tensors than it takes. In a chain `x -> dense(64)` the "
        "left side is the first input; in a call `dense(x, 64)` inputs come first.",
    ),
    "E501": Code(
        "unknown train setting",
        "A `train` section or `stage` has a setting it does not know. `netspec explain train` "
        "lists the settings.",
    ),
    "E502": Code(
        "unknown data source, optimizer, schedule or method",
        "The value names no known data source, optimizer, learning-rate schedule or pretraining "
        "method; `did you mean` suggests the closest one. `netspec explain train` lists them "
        "all, with their parameters.",
    ),
    "E503": Code(
        "data does not fit the network",
        "The data source's fields do not match the network's inputs by name, or their shapes or "
        "label types differ.",
    ),
    "E504": Code(
        "bad stage reference",
        "A stage's `greedy`, `freeze` or `train` list names something that is not a unit of the "
        "network.",
    ),
    "E505": Code(
        "unit cannot be pretrained that way",
        "Greedy pretraining needs units with an unsupervised rule (`rbm` with `cd`/`pcd`, "
        "`autoencoder` with `reconstruction`, `sparse_code` with `dictionary`).",
    ),
    "E506": Code(
        "nothing to train",
        "A supervised stage needs a `loss` in the network, and a stage needs something left "
        "unfrozen.",
    ),
    "E507": Code(
        "defined twice in a train section",
        "A setting or stage name appears twice in the same section.",
    ),
    "E508": Code(
        "bad train setting value",
        "A train setting has a value of the wrong type or out of range (e.g. `batch = 0`).",
    ),
    "E520": Code(
        "data cannot be read",
        "A data file is missing, unreadable or malformed, or its values do not fit the "
        "network's inputs. The message names the file and, where it can, the row and column.",
    ),
    "E701": Code(
        "run folder problem",
        "A run folder cannot be created, read or resumed: the message says which folder and why.",
    ),
    "E750": Code(
        "training cannot go on",
        "Training stopped on a problem the user can fix: the device, the data, or a loss that "
        "became nan or inf (the message says which, with a hint).",
    ),
}


def explain(code: str) -> str | None:
    """The explanation page of a code, or None if there is no such code.

    >>> explain("E301").splitlines()[0]
    'E301: wrong input rank'
    """
    entry = CODES.get(code.upper())
    if entry is None:
        return None
    return f"{code.upper()}: {entry.title}\n\n{entry.explanation}\n"
