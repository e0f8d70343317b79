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
    "E110": Code(
        "absolute path outside the spec's folder",
        'A `use "..."` or a data file (`csv("...")`, `npy("...")`) is named by an absolute '
        "path that lies outside the spec's folder. A spec reads only files under its own folder "
        "(the current directory for a spec on stdin or given as a string), so running someone "
        "else's spec cannot read your other files, and a spec with its files moves as one "
        "folder. Name the file relative to the spec after moving it under the spec's folder, "
        "or allow its folder: `netspec check model.net --allow-path /data` (repeatable; "
        "`allow_paths=[...]` in the library).",
    ),
    "E111": Code(
        "path leads outside the spec's folder",
        "A relative `use` or data-file path leaves the spec's folder, with `..` or through a "
        "symbolic link inside the folder that points elsewhere (links are followed before the "
        "check). Paths are relative to the file that names them, and must stay under the root "
        "spec's folder or a folder given with `--allow-path DIR` (`allow_paths=[...]` in the "
        "library). Move the file under the spec's folder, or allow the folder it is in.",
    ),
    "E112": Code(
        "`use` of a file that is not a spec",
        'A `use "..."` names a file whose name does not end in `.net`. Only spec files can be '
        "imported; the file is refused before it is read, so no line of it is shown. Data "
        "files are read by a `train` section's data source, such as "
        '`data = csv("data.csv", target="label")`.',
    ),
    "E113": Code(
        "a path that no file can have",
        "A `use` path or a data file's name holds a NUL character (byte 0), which no operating "
        "system allows in a file name. It is usually left by a binary paste or a file saved in "
        "the wrong encoding; delete it.",
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
    "E408": Code(
        "arithmetic on a value that is not an integer",
        "`+`, `-`, `*` and `//` work on whole numbers only: integer literals, and `let`s or block "
        "parameters whose values are integers. They are folded when the spec is built, so "
        "`let h = 2 * width` gives `h` a value like any other `let`. A float (`0.5 * 8`), a "
        "string, a list or a name that is not a `let` is refused, at the operand.",
    ),
    "E409": Code(
        "division by zero",
        "The right side of `a // b` is 0. `//` divides integers and rounds down, as in Python.",
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
        "A data source gives named fields, and each feeds a network input. The rule: a field "
        "feeds the input of its name; a CSV column left over (not a target, not in a group) "
        "named exactly like an input feeds that input; every other field feeds the inputs of "
        "its role that no field named (features: inputs read by units; a target: inputs read "
        "only by losses), several real ones by consecutive slices when their sizes add up. A "
        "CSV's fields: each `target=` column (one name or a list), each group of columns headed "
        "`GROUP.NAME` (field GROUP, in the header's order), and `features`, the rest. An NPZ "
        "archive's fields are its arrays, an image or WAV folder's `image`/`sound` and `label`. "
        "For example, with the header `vitals.hr,vitals.bp,age,stay,outcome` and "
        '`csv("patients.csv", target=["stay", "outcome"])`, the inputs `vitals: [2]`, '
        "`age: [1]`, `stay: real` and `outcome: class(2)` are fed by name. This error says "
        "that an input gets nothing, that a field the user named (a target column of several, "
        "an array) feeds no input, that several inputs could take one field, or that a field's "
        "shape or label type differs from its input's (the help line gives the declaration "
        "that fits). `netspec check` prints what feeds what on its `data:` line.",
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
    "E510": Code(
        "data file not found",
        "A `csv(...)` or `npy(...)` source names a file that does not exist. Data paths are "
        "relative to the folder of the spec that names them, not to the current directory: "
        '`csv(path="iris.csv")` in `specs/a.net` reads `specs/iris.csv`. `netspec check` '
        "reports this before any training.",
    ),
    "E511": Code(
        "data file cannot be read",
        "The data file exists but cannot be opened or parsed: no permission, not UTF-8 text, a "
        "CSV syntax error, an empty CSV, or a `.npy` file that `np.load` refuses (an `.npz` "
        "archive, or an object array, which netspec never unpickles). The message gives the "
        "reason.",
    ),
    "E512": Code(
        "CSV row of the wrong length",
        "A CSV row has more or fewer values than the header has columns; the location is "
        "`file:line:column`, counting the header as line 1. Every row needs one value per "
        "column: an empty cell still needs its comma (and is then reported as missing, E514). "
        "A stray comma or an unquoted comma inside a value are the usual causes.",
    ),
    "E513": Code(
        "not a number",
        "A feature cell of a CSV holds text (`abc`, `1,5` with a decimal comma, `12%`), a "
        "`.npy` array is not numeric, or a text target is bound to a `real` input. Features "
        "must be numbers; text is allowed only in a CSV's target column or a targets `.npy`, "
        "for a `class(N)` or `binary` input, where the labels are numbered in sorted order.",
    ),
    "E514": Code(
        "missing, nan or inf value",
        "A sample holds nan or inf, or a CSV cell is empty. netspec does not impute: a missing "
        "value would otherwise become nan in the loss, and training would stop later with a "
        "misleading hint about the learning rate. Remove the row or fill in the value. In a "
        "CSV the location is `file:line:column`; in a `.npy` file it is the sample's number "
        "along the first axis and the value's within the sample (both from 1). For a generated "
        "source `netspec train` reports it before the first step.",
    ),
    "E515": Code(
        "label outside the declared classes",
        "A target (or a class-valued feature) bound to a `class(N)` input must hold whole "
        "numbers from 0 to N-1 (also -1 at unlabelled steps of a sequence target), one bound "
        "to a `binary` input 0 or 1. Text labels and integer labels with negative values are "
        "numbered in sorted order, so a file with more different labels than N also lands "
        "here. The message names the range found, the first offending value and its line; fix "
        "the labels, or declare as many classes as the data has.",
    ),
    "E516": Code(
        "too few samples",
        "A data file has a header but no samples, or so few that the `test` and `val` "
        "fractions (each at least one sample when above 0) leave the training split empty. The "
        "message gives the counts; give more samples or hold out smaller fractions.",
    ),
    "E517": Code(
        "data of the wrong shape",
        "The values each sample gives do not fit the input's declared shape (`input x: [4]` "
        "takes 4 values per sample; a symbolic size such as `T` takes a multiple of the fixed "
        "ones), a targets `.npy` holds another number of samples than the features, a file "
        "holds a single number instead of an array with the samples along its first axis, or "
        "inputs that share the features take more or fewer values than each sample has.",
    ),
    "E518": Code(
        "column not in the data file",
        "`target=` names a column that the CSV's header does not have (the message lists the "
        "columns), or the target is the file's only column, leaving no features.",
    ),
    "E520": Code(
        "data cannot be read",
        "A data file is missing, unreadable or malformed, or its values do not fit the "
        "network's inputs. The message names the file and, where it can, the row and column.",
    ),
    "E521": Code(
        "a sweep dimension that `--set` cannot set",
        "Each name in a `sweep` block other than its own settings (`trials`, `seeds`, "
        "`objective`, `sampler`, `pruner`) is a dimension: a top-level `let`, a train setting "
        "(`epochs`, `batch`), one stage's setting (`pretrain.epochs`) or a named loss's "
        "parameter (`reconstruct.weight`), exactly what `netspec train --set NAME=VALUE` "
        "accepts. A learning rate inside `optimizer = adam(lr=...)` is swept through a `let`: "
        "`let lr = 0.001`, `optimizer = adam(lr=lr)`, and `lr = logrange(1e-4, 1e-1)`.",
    ),
    "E522": Code(
        "bad sweep setting",
        "A dimension's space is `choice(a, b, ...)` (any values), `range(low, high)` (the "
        "integers from low to high, both included), `uniform(low, high)` or `logrange(low, "
        "high)` (floats, the latter sampled on a log scale, so its bounds are above 0), with "
        "low < high. `trials` and `seeds` are counts of at least 1, `sampler` is `tpe` or "
        "`random`, `pruner` is `median` or `none`, and `objective` is `min` or `max` and a "
        "metric of the epoch rows, `SPLIT/NAME` (`val/loss`, `val/acc`), of a split the "
        "data holds out (default: `min val/loss`, or `min train/loss` with no validation split).",
    ),
    "E523": Code(
        "a sweep point breaks the spec",
        "Before a sweep's first trial, the spec is compiled and checked at every point of a "
        "discrete space (`choice` and `range` dimensions), or, with a `uniform` or `logrange` "
        "dimension, at every corner: each `range`, `uniform` and `logrange` at its two bounds, "
        "crossed with every choice. `netspec check` and `netspec train` do the same, so a value "
        "that breaks a shape is refused before any training. The message names the first point "
        "that fails; the labels show its values and where the spec breaks. Drop the value from "
        "the sweep, or change the spec so that it fits (padding for a larger kernel, say).",
    ),
    "E524": Code(
        "a sweep too large to check",
        "A discrete sweep (or the corners of a continuous one) has more than 10,000 points, and "
        "each is compiled before the first trial. Give fewer choices, or make a wide integer "
        "dimension `uniform`, whose bounds alone are checked.",
    ),
    "W601": Code(
        "training would need a lot of memory",
        "A warning: the spec is valid and `check` exits 0. `check` estimates the memory training "
        "needs (its `memory:` line) and warns above 8 GiB, as most laptops and many GPUs have "
        "less. The estimate, in float32, at the stage that needs most: the weights, a gradient "
        "per trained parameter, the optimizer's state (none for `sgd` without momentum, one "
        "copy with it or for `rmsprop`, two for `adam` and `adamw`), and every unit's output "
        "times the batch, twice over for what the backward pass keeps. The warning points at "
        "the largest unit; fewer or smaller units or a smaller `batch` bring it down.",
    ),
    "E602": Code(
        "training does not fit in the device's free memory",
        "Before allocating anything, `train` compares the memory estimate of W601 (weights, "
        "gradients, optimizer state and activations at the batch) with what the device has "
        "free: on the CPU the system's available memory, on a GPU CUDA's free memory. When the "
        "estimate is larger, training would only die in the allocator, so it refuses and "
        "prints both numbers. Use fewer or smaller units, a smaller `batch` (`--set "
        "batch=16`), or another device (`--device cuda`, or a machine with more memory).",
    ),
    "E701": Code(
        "run folder problem",
        "A run folder cannot be created, read or resumed: the message says which folder and why.",
    ),
    "E702": Code(
        "cannot create the run folder",
        "`netspec train` makes a folder for each run under `--runs` (default `runs/`), or the "
        "`--run-dir` given, and could not: most often the folder is not writable by you, or "
        "lies on a read-only disk. Choose a `--runs` folder you can write to.",
    ),
    "E703": Code(
        "a file is where the run folder should be",
        "The `--run-dir`, or a folder on the way to `--runs` or `--run-dir`, is a regular file, "
        "so no folder can be made there. The message names the file; move it away or choose "
        "another path.",
    ),
    "E704": Code(
        "the run folder already holds a run",
        "`--run-dir DIR` starts a new run in DIR, but DIR has a manifest.json of an earlier run. "
        "Continue that run with `--resume DIR` (a run that stopped before its first checkpoint "
        "starts again there from step 0), or give a new folder.",
    ),
    "E705": Code(
        "not a run folder",
        "`--resume DIR` needs a folder `netspec train` made: one with a readable manifest.json. "
        "The path is a file, has no manifest.json, or its manifest.json is not valid JSON.",
    ),
    "E706": Code(
        "the spec changed since the run started",
        "A resumed run must compute what the interrupted one would have: the spec and every file "
        "it `use`s must be as they were (the manifest keeps their digest; the run folder keeps "
        "the spec as compiled, spec.net). Undo the edit, or start a new run.",
    ),
    "E707": Code(
        "a resumed run's setting differs",
        "A resumed run keeps the network, `--set` values, seed, `--epochs`, `--steps`, `--smoke` "
        "and `--skip-stage` of the run it continues; leave them out to take them from its "
        "manifest.",
    ),
    "E708": Code(
        "cannot rebuild the run from its folder",
        "`netspec eval RUN` (and export, sample, predict) compile the spec again from the run "
        "folder's own copy: every file the run read, under `source/`, with the `--set` values "
        "and allowed folders recorded in manifest.json. The run was written by a netspec that "
        "kept no such copy, or the copy was edited or removed since (its digest no longer "
        "matches the manifest's `spec_sha256`). For an old run, name the spec and checkpoint "
        "instead: `netspec eval SPEC --checkpoint RUN/checkpoints/last.safetensors` with the "
        "run's `--set` values.",
    ),
    "E710": Code(
        "cannot write a file of the run",
        "Writing a checkpoint, the manifest, the metrics or another file of the run failed: a "
        "full disk (the message gives the free space there), a file size limit, or permissions. "
        "Every file is written to a temporary file and then swapped in, so the previous version "
        "(the previous checkpoint) is kept whole, and the manifest records `status: failed` with "
        "the reason when it can still be written. Make room, then continue the run with "
        "`netspec train SPEC --resume RUN_DIR`.",
    ),
    "E711": Code(
        "the checkpoint is a PyTorch pickle",
        "The file was written by `torch.save` (a zip of pickles, or a bare pickle). netspec reads "
        "only safetensors files, because loading a pickle runs code from the file. Save the "
        "weights with `safetensors.torch.save_file(model.state_dict(), PATH)`, or use a "
        "checkpoint a netspec run wrote (`runs/<run>/checkpoints/last.safetensors`, "
        "`best.safetensors`, `after-<stage>.safetensors`).",
    ),
    "E712": Code(
        "not a safetensors file",
        "The checkpoint does not start with a safetensors header (an 8-byte length, then JSON), "
        "so it is some other kind of file. Give the path of a `.safetensors` checkpoint.",
    ),
    "E713": Code(
        "the checkpoint is truncated",
        "The file starts as a safetensors file but ends before the tensors its header describes: "
        "a copy or download that did not finish, or a disk that filled up. netspec's own writes "
        "are atomic, so a run's checkpoints are never left like this; copy the file again, or "
        "use another checkpoint of the run.",
    ),
    "E714": Code(
        "not a netspec checkpoint",
        "The file is a safetensors file, but netspec did not write it (its metadata has no "
        "netspec format) or its netspec metadata is damaged. A plain state dict saved with "
        "safetensors can still be evaluated or exported when its tensor names and shapes fit "
        "the network; the message lists those that do not. Resuming needs a run's own "
        "last.safetensors.",
    ),
    "E715": Code(
        "the checkpoint is another network's",
        "The checkpoint's tensor names are not the network's: it was trained from another "
        "network (or another spec file). The note lists every missing and unexpected tensor "
        "with its shape. Give the spec and `--network` the checkpoint was trained with.",
    ),
    "E716": Code(
        "the checkpoint is from a different spec",
        "The checkpoint has the network's tensor names but some shapes differ: the spec (a "
        "width, a `let`, a `--set` value) changed since it was trained. The note lists every "
        "tensor with both shapes. The run folder keeps the spec as it was trained (spec.net) "
        "and the manifest its `--set` values.",
    ),
    "E717": Code(
        "the checkpoint cannot be resumed from",
        "A netspec checkpoint without a run's state (stage, step, random states), such as "
        "`after-<stage>.safetensors` or `best.safetensors`, was found where `--resume` reads "
        "`checkpoints/last.safetensors`. Such files hold only weights: evaluate or export them.",
    ),
    "E718": Code(
        "cannot read the checkpoint",
        "The checkpoint file exists but cannot be opened or read (permissions, a folder given "
        "as the file, a disk error). The message gives the system's reason.",
    ),
    "E730": Code(
        "bad command line",
        "The command line does not parse: an unknown option, a missing argument, a value of the "
        "wrong form (`--set NAME=VALUE`, a count below its least value), or options that do not "
        "go together. The note shows the command's usage; `netspec COMMAND --help` lists every "
        "option. Exit status 2.",
    ),
    "E731": Code(
        "no such spec file",
        "The spec file named on the command line does not exist. Paths are relative to the "
        "current directory; `-` reads the spec from standard input. Exit status 2.",
    ),
    "E732": Code(
        "the spec path is a folder",
        "The path names a folder, not a `.net` file. The help lists the specs in that folder, "
        "if it holds any; name one of them. Exit status 2.",
    ),
    "E733": Code(
        "the spec file is not UTF-8 text",
        "A spec is a UTF-8 text file. The message gives the line and column of the first byte "
        "that is not UTF-8: the file may be binary (a checkpoint, an image), or saved in another "
        "encoding (re-save it as UTF-8). Exit status 2.",
    ),
    "E734": Code(
        "the spec file cannot be read",
        "The file exists but the operating system refuses to read it, most often for want of "
        "read permission. The message gives the system's reason. Exit status 2.",
    ),
    "E735": Code(
        "no such network",
        "`--network NAME` names no network of the spec. The message lists the networks the "
        "spec defines; `netspec check FILE` prints each of them. Exit status 2.",
    ),
    "E736": Code(
        "the spec defines no network",
        "`draw` and `sample` need a network, but the file holds only blocks and lets (a library "
        "of blocks for `use`, say). Name a spec with a `network`, or add one. Exit status 2.",
    ),
    "E737": Code(
        "unknown topic or code",
        "`netspec explain WORD` takes a spec file, a diagnostic code such as E301, `units`, a "
        "unit kind, `train`, a catalogue entry or a train setting. `did you mean` suggests the "
        "closest topic. Exit status 2.",
    ),
    "E738": Code(
        "no starter for that concept",
        "`netspec new CONCEPT` knows the zoo's specs and the unit kinds they teach; `netspec new` "
        "without a concept lists them. Exit status 2.",
    ),
    "E739": Code(
        "the output file exists",
        "`netspec new` never overwrites a file unasked: pass `--force` to replace it, or `-o` "
        "another path. Exit status 2.",
    ),
    "E740": Code(
        "cannot write an output file",
        "An output path (`-o`, or the default one next to you) cannot be written: its folder "
        "does not exist, a part of the path is a file, the path is a folder, permission is "
        "denied, or the disk is full. The message gives the path and the system's reason. "
        "Create the folder or choose another path. Exit status 2.",
    ),
    "E741": Code(
        "unknown output format",
        "`draw -o OUT` picks the format from OUT's extension, and this one is not a format it "
        "writes (svg, png, pdf, dot, jpeg). Use one of those extensions, or give `--format`. "
        "Exit status 2.",
    ),
    "E742": Code(
        "no such checkpoint",
        "`--checkpoint PATH` names no file, or a spec file was given without one. A run's "
        "checkpoints are `last.safetensors` and `best.safetensors` in its run folder; given "
        "the run folder itself (`netspec eval RUN`), `--checkpoint` is `last` (the default) or "
        "`best`. Exit status 2.",
    ),
    "E743": Code(
        "not a run folder to resume",
        "`--resume RUN_DIR` needs the folder a `netspec train` run wrote, with its "
        "`manifest.json`. The folder is missing, or holds no readable manifest. Exit status 2.",
    ),
    "E744": Code(
        "a resumed run keeps its options",
        "A resumed run continues exactly the run it was: its `--set`, `--network`, `--seed`, "
        "`--epochs`, `--steps` and `--skip-stage` come from its manifest. Leave them out (they "
        "are taken from the run), or start a new run to change them. Exit status 2.",
    ),
    "E745": Code(
        "unknown or unusable stage",
        "A stage named on the command line (`--skip-stage NAME`, `draw --stage NAME`) is not a "
        "stage of the network's `train` section, or `--skip-stage` leaves no stage to run. The "
        "message lists the stages. Exit status 2.",
    ),
    "E746": Code(
        "no gradient record to colour by",
        "`draw --run RUN` colours the units by the gradient norms a training run recorded in "
        "its `gradients.json`. The folder holds none (no supervised epoch ended), the file is "
        "unreadable, `--epoch` names an epoch it did not record, or the run trained another "
        "network. Exit status 2.",
    ),
    "E747": Code(
        "cannot render the drawing",
        "No Graphviz renderer could produce the requested format (PDF needs a system Graphviz; "
        "SVG and PNG need none), or the renderer failed. The DOT text is written instead, so "
        "nothing is lost; the help says what to install. Exit status 1.",
    ),
    "E748": Code(
        "cannot sample this network",
        "`netspec sample` runs Gibbs chains in the top RBM of a stack of RBMs. The network has "
        "no such stack, the checkpoint does not fit it, or `--start data` found no training "
        "samples. The message says which. Exit status 1.",
    ),
    "E749": Code(
        "cannot read these runs",
        "`netspec compare` and `netspec report` read each run folder's `manifest.json` and "
        "`metrics.jsonl`. A folder given is not a run folder, or its files cannot be read. Exit "
        "status 1.",
    ),
    "E751": Code(
        "cannot export the network",
        "`netspec export` could not write the network as a standalone module or as ONNX: the "
        "checkpoint does not fit the network, or a part of it cannot be copied or traced. The "
        "message says which. Exit status 1.",
    ),
    "E752": Code(
        "torchrun asks for more than the machine has",
        "Under torchrun each process trains on a GPU of its own; this machine has fewer GPUs "
        "than processes per machine. Start at most that many (`torchrun --nproc_per_node`), or "
        "train on the CPU with `--device cpu`. Exit status 1.",
    ),
    "E753": Code(
        "the language server is not installed",
        "`netspec lsp` runs a language server on pygls and lsprotocol, which the plain install "
        "leaves out: install the `lsp` extra, `pip install 'netspec[lsp]'`, then point the "
        "editor's LSP client at `netspec lsp` (it speaks over stdin and stdout). Exit status 1.",
    ),
    "E760": Code(
        "which network is meant?",
        "The file defines several networks and the command works on one: `train` and `eval` "
        "need `--network` when more than one network has a `train` section; `export`, `sample` "
        "and `predict` need it when there are several networks, unless exactly one of them is "
        "trained. netspec does not guess by order. Name it with `--network NAME`. Exit "
        "status 2.",
    ),
    "E761": Code(
        "a run folder fixes the network",
        "A run folder given to `eval`, `export`, `sample` or `predict` is rebuilt as it was "
        "trained, which names its network; `--network` names another one. Leave `--network` "
        "out, or name the spec file instead of the run. Exit status 2.",
    ),
    "E762": Code(
        "cannot read the samples to predict",
        "`netspec predict` reads one sample per CSV row (the input's values in order; with "
        "several inputs, columns named `x.0`, `x.1`, ... after each input `x`), or an .npy "
        "(the one input) or .npz (arrays named after the inputs), with the samples first. The "
        "file cannot be read, a cell is not a number, a row has the wrong number of values, a "
        "column or array is missing, an array has the wrong shape, or an output with several "
        "axes per sample was asked for as CSV (write `-o out.npz`). The message names the "
        "place. Exit status 1.",
    ),
    "E790": Code(
        "Optuna is not installed",
        "`netspec sweep` runs its trials with Optuna, an optional dependency: install it with "
        "`pip install 'netspec[sweep]'`. Checking a sweep (`netspec check`) needs no Optuna.",
    ),
    "E791": Code(
        "sweep folder problem",
        "`netspec sweep --resume DIR` needs a folder an earlier `netspec sweep` made (with its "
        "sweep.json and study.db), of the same spec and --set values: the sweep.json keeps "
        "their digest, and a changed spec would mix trials of two spaces. `--sweep-dir DIR` "
        "starts a new sweep and refuses a folder that holds one already; the message says "
        "which case it is.",
    ),
    "E792": Code(
        "the sweep's objective is not a metric of its runs",
        "A sweep's `objective = min SPLIT/NAME` names a column of the runs' epoch rows "
        "(metrics.jsonl: `val/loss`, `val/cross_entropy/acc`, `train/loss`...) or of the final "
        "evaluation. A trial's run had no such metric; the help lists those it has.",
    ),
    "E767": Code(
        "--seeds with --resume",
        "`netspec train --seeds N` starts N new runs, one per seed; it cannot continue one. "
        "Resume each seed's run folder (NAME-TIME-seed-K) with `--resume` on its own.",
    ),
    "E768": Code(
        "no sweep to run",
        "`netspec sweep FILE` runs the `sweep { ... }` block of the network's `train` section, "
        "and this section has none. `grammar/README.md` describes the block.",
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
