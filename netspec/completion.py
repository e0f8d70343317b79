"""Static shell completion scripts (bash, zsh, fish) generated from the argparse parser.

`netspec completion bash` prints one; the shell then completes subcommands, each subcommand's
options, the choices of options that have them, `*.net` files where a command takes a spec, and
folders where it takes a run folder, without starting Python on TAB. Only the standard library
is imported here: the CLI imports this module at start-up.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")

# What a value is, by the metavar the CLI gives it: a spec, a path of any kind, or a folder.
_SPEC_METAVARS = frozenset({"FILE"})
_PATH_METAVARS = frozenset({"PATH", "OUT", "PLOT"})
_DIR_METAVARS = frozenset({"DIR", "RUN_DIR", "ROOT", "RUN", "RUN_A", "RUN_B"})
SPEC_GLOB = "*.net"


@dataclass(frozen=True)
class Value:
    """What an option or positional argument takes: `spec`, `path`, `dir`, `words` (its
    choices) or `text` (anything: nothing to offer)."""

    kind: str
    label: str  # what zsh shows above the matches: the metavar
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]  # `-o`, `--output`
    help: str
    value: Value | None  # None for a flag that takes no value
    repeats: bool


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: tuple[Option, ...]
    positional: Value | None  # what the words that are not options are
    many: bool  # several words are positionals (`fmt FILE...`, `diff FILE OTHER`)


def commands(
    parser: argparse.ArgumentParser, words: Mapping[str, Sequence[str]] | None = None
) -> tuple[Command, ...]:
    """The subcommands of `parser`, with what each option and positional takes; `words` gives
    the words a command's positional may be (`new`: the concepts)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    out = []
    for name, command in sub.choices.items():
        positionals = [a for a in command._actions if not a.option_strings]
        options = tuple(_option(a) for a in command._actions if a.option_strings)
        positional, many = None, False
        if positionals:
            first = positionals[0]
            positional = _value(first, (words or {}).get(name, ()), positional=True)
            many = first.nargs in ("+", "*") or len(positionals) > 1
        out.append(Command(name, _summary(helps.get(name, "")), options, positional, many))
    return tuple(out)


def _option(action: argparse.Action) -> Option:
    takes = None if action.nargs == 0 else _value(action, (), positional=False)
    repeats = isinstance(action, argparse._AppendAction)
    return Option(tuple(action.option_strings), _summary(action.help or ""), takes, repeats)


def _value(action: argparse.Action, words: Sequence[str], positional: bool) -> Value:
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    if action.choices is not None:
        return Value("words", metavar, tuple(str(c) for c in action.choices))
    if words:
        return Value("words", metavar, tuple(words))
    if positional and metavar in _SPEC_METAVARS:
        return Value("spec", metavar)
    if metavar in _DIR_METAVARS:
        return Value("dir", metavar)
    if metavar in _PATH_METAVARS or metavar in _SPEC_METAVARS:
        return Value("path", metavar)
    return Value("text", metavar)


def _summary(help: str) -> str:
    """A help text's first clause, on one line, for a completion menu."""
    text = " ".join(help.split()).replace("%%", "%")
    for stop in ("; ", " (", ": "):
        text = text.split(stop, 1)[0]
    return text if len(text) <= 72 else text[:69].rstrip() + "..."


def script(
    shell: str,
    parser: argparse.ArgumentParser,
    words: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The completion script of `parser` for `shell` (one of SHELLS).

    >>> p = argparse.ArgumentParser(prog="netspec")
    >>> sub = p.add_subparsers(dest="command")
    >>> sub.add_parser("check", help="check a spec").add_argument("file", metavar="FILE")
    ... # doctest: +ELLIPSIS
    _StoreAction(...)
    >>> "check" in script("fish", p)
    True
    """
    found = commands(parser, words)
    prog = parser.prog
    if shell == "bash":
        return _bash(prog, found)
    if shell == "zsh":
        return _zsh(prog, found)
    if shell == "fish":
        return _fish(prog, found)
    raise ValueError(f"no completion for shell `{shell}`: one of {', '.join(SHELLS)}")


# --- bash ---------------------------------------------------------------------------------------

_BASH_HELPERS = """\
_{fn}_files() {{  # COMPREPLY: folders and files matching $2 (any file when $2 is empty)
    local IFS=$'\\n'
    if [[ -n "$2" ]]; then
        COMPREPLY=($(compgen -d -- "$1") $(compgen -f -X "!$2" -- "$1"))
    else
        COMPREPLY=($(compgen -f -- "$1"))
    fi
}}

_{fn}_dirs() {{
    local IFS=$'\\n'
    COMPREPLY=($(compgen -d -- "$1"))
}}
"""


def _bash_value(value: Value, fn: str) -> str:
    if value.kind == "words":
        return f'COMPREPLY=($(compgen -W "{" ".join(value.words)}" -- "$cur"))'
    if value.kind == "spec":
        return f'_{fn}_files "$cur" "{SPEC_GLOB}"'
    if value.kind == "path":
        return f'_{fn}_files "$cur" ""'
    if value.kind == "dir":
        return f'_{fn}_dirs "$cur"'
    return "COMPREPLY=()"


def _bash(prog: str, found: tuple[Command, ...]) -> str:
    fn = prog.replace("-", "_")
    names = " ".join(c.name for c in found)
    lines = [
        f"# bash completion for {prog}; generated by `{prog} completion bash`.",
        "",
        _BASH_HELPERS.format(fn=fn),
        f"_{fn}() {{",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local command="" i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do  # the first word that is no option",
        '        if [[ "${COMP_WORDS[i]}" != -* ]]; then command="${COMP_WORDS[i]}"; break; fi',
        "    done",
        '    case "$command" in',
        '        "")',
        f'            COMPREPLY=($(compgen -W "{names} -h --help --version" -- "$cur"))',
        "            ;;",
    ]
    for command in found:
        lines += _bash_command(command, fn)
    lines += ["    esac", "}", "", f"complete -o filenames -F _{fn} {prog}", ""]
    return "\n".join(lines)


def _bash_command(command: Command, fn: str) -> list[str]:
    """The `case` branch of one subcommand: the value after an option, else an option or a
    positional."""
    lines = [f"        {command.name})"]
    # The options that complete alike share a branch: `--seed|--epochs) COMPREPLY=()`.
    branches: dict[str, list[str]] = {}
    for option in command.options:
        if option.value is not None:
            branches.setdefault(_bash_value(option.value, fn), []).extend(option.flags)
    if branches:
        lines.append('            case "$prev" in')
        for action, flags in branches.items():
            lines.append(f"                {'|'.join(flags)}) {action}; return ;;")
        lines.append("            esac")
    every_flag = " ".join(f for o in command.options for f in o.flags)
    rest = _bash_value(command.positional, fn) if command.positional else "COMPREPLY=()"
    return [
        *lines,
        '            if [[ "$cur" == -* ]]; then',
        f'                COMPREPLY=($(compgen -W "{every_flag}" -- "$cur"))',
        "            else",
        f"                {rest}",
        "            fi",
        "            ;;",
    ]


# --- zsh ----------------------------------------------------------------------------------------


def _zsh_quote(text: str) -> str:
    """`text` inside single quotes, with the brackets and colons of `_arguments` specs escaped."""
    for char in "\\[]:":
        text = text.replace(char, "\\" + char)
    return text.replace("'", "'\\''")


def _zsh_action(value: Value) -> str:
    if value.kind == "words":
        return "(" + " ".join(value.words) + ")"
    if value.kind == "spec":
        return f'_files -g "{SPEC_GLOB}"'
    if value.kind == "path":
        return "_files"
    if value.kind == "dir":
        return "_files -/"
    return " "


def _zsh_option(option: Option) -> str:
    described = f"[{_zsh_quote(option.help)}]"
    if option.value is not None:
        described += f":{_zsh_quote(option.value.label)}:{_zsh_action(option.value)}"
    if len(option.flags) == 1:
        head = ("*" if option.repeats else "") + option.flags[0]
        return f"'{head}{described}'"
    exclusive = "" if option.repeats else "(" + " ".join(option.flags) + ")"
    star = "*" if option.repeats else ""
    return f"'{star}{exclusive}'{{{','.join(option.flags)}}}'{described}'"


def _zsh(prog: str, found: tuple[Command, ...]) -> str:
    fn = prog.replace("-", "_")
    lines = [
        f"#compdef {prog}",
        f"# zsh completion for {prog}; generated by `{prog} completion zsh`.",
        "",
        f"_{fn}() {{",
        "    local curcontext=$curcontext state line",
        "    local -a commands",
        "    commands=(",
        *(f"        '{c.name}:{_zsh_quote(c.help)}'" for c in found),
        "    )",
        "    _arguments -C \\",
        "        '(- 1 *)'{-h,--help}'[show help]' \\",
        "        '(- 1 *)--version[show the version]' \\",
        "        '1: :->command' \\",
        "        '*:: :->arguments'",
        '    case "$state" in',
        f"        command) _describe -t commands '{prog} command' commands ;;",
        "        arguments)",
        '            case "$line[1]" in',
    ]
    for command in found:
        specs = [_zsh_option(o) for o in command.options]
        if command.positional is not None:
            where = "'*:" if command.many else "'1:"
            action = _zsh_action(command.positional)
            specs.append(f"{where}{_zsh_quote(command.positional.label)}:{action}'")
        lines.append(f"                {command.name})")
        lines.append(
            " \\\n                        ".join(["                    _arguments", *specs])
        )
        lines.append("                    ;;")
    lines += ["            esac", "            ;;", "    esac", "}", "", f'_{fn} "$@"', ""]
    return "\n".join(lines)


# --- fish ---------------------------------------------------------------------------------------


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_value(value: Value, option: bool) -> str:
    """The `complete` arguments for what an option (`-x`: it takes a value, no file names) or
    a positional takes."""
    if value.kind == "path":
        return "-r -F" if option else "-F"
    if value.kind == "words":
        offer = "-a " + _fish_quote(" ".join(value.words))
    elif value.kind == "spec":
        offer = f"-a '(__fish_complete_suffix {SPEC_GLOB[1:]})'"
    elif value.kind == "dir":
        offer = "-a '(__fish_complete_directories)'"
    else:
        offer = ""
    return f"-x {offer}".rstrip() if option else offer


def _fish_flags(option: Option) -> str:
    out = []
    for flag in option.flags:
        out.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
    return " ".join(out)


def _fish(prog: str, found: tuple[Command, ...]) -> str:
    head = f"complete -c {prog}"
    top = f"{head} -n __fish_use_subcommand"
    lines = [
        f"# fish completion for {prog}; generated by `{prog} completion fish`.",
        "",
        f"{head} -f  # no file names unless an argument takes them",
        f"{top} -s h -l help -d 'show help'",
        f"{top} -l version -d 'show the version'",
    ]
    lines += [f"{top} -a {c.name} -d {_fish_quote(c.help)}" for c in found]
    for command in found:
        lines.append("")
        when = f"{head} -n '__fish_seen_subcommand_from {command.name}'"
        for option in command.options:
            takes = f" {_fish_value(option.value, True)}" if option.value is not None else ""
            lines.append(f"{when} {_fish_flags(option)}{takes} -d {_fish_quote(option.help)}")
        if command.positional is not None and command.positional.kind != "text":
            lines.append(f"{when} {_fish_value(command.positional, False)}")
    return "\n".join(lines) + "\n"


__all__ = ["SHELLS", "Command", "Option", "Value", "commands", "script"]
