"""Completion at a position of text that may not parse (it is being typed): the context is read
lexically around the cursor, from the brackets that are open and the token before it.

After `->`: unit kinds and blocks; after `=` in a network or block: names in scope too; inside a
call's parentheses: the callee's parameters (and a choice parameter's values after `name=`); in
a `train` section: its settings, and after `data =`, `optimizer =`, `schedule =` or `method =`
the catalogue's entries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netspec.plan import catalog
from netspec.units import REGISTRY
from netspec.units.base import ParamSpec, UnitKind
from netspec.views.explain import show

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_HEADER = re.compile(rf"\b(network|block|train|stage)\s+({_NAME})\s*(\(([^()]*)\))?\s*$")
_COMMENT_OR_STRING = re.compile(r'#[^\n]*|"(?:[^"\\\n]|\\.)*("?)')  # a string may be open
_TOP_KEYWORDS = ("network", "block", "train", "let", "use")
_BODY_KEYWORDS = ("input", "let", "output", "loss")
_ENTRY_SETTINGS: dict[str, Mapping[str, catalog.Entry]] = {
    "data": catalog.SOURCES,
    "optimizer": catalog.OPTIMIZERS,
    "schedule": catalog.SCHEDULES,
    "method": catalog.METHODS,
}


@dataclass(frozen=True)
class Suggestion:
    """One completion. `kind` is unit, block, name, parameter, value, setting, entry or
    keyword; `snippet`, when set, is the text to insert in LSP snippet syntax."""

    label: str
    kind: str
    detail: str = ""
    doc: str = ""
    snippet: str = ""


@dataclass(frozen=True)
class _Scope:
    """An open `{`: the item or stage it belongs to."""

    keyword: str  # network, block, train or stage
    name: str
    params: tuple[str, ...]  # a block's parameters
    start: int  # the offset just after its `{`


def complete(text: str, offset: int) -> list[Suggestion]:
    """What may be typed at `offset` (the word being typed there is the client's filter).

    >>> labels = [s.label for s in complete("network n { input x: [4]  y = x -> ", 35)]
    >>> "dense" in labels, "x" in labels
    (True, False)
    """
    if _in_comment_or_string(text[:offset]):
        return []
    full = _blank_comments_and_strings(text)
    code = full[:offset]
    typed = re.search(rf"{_NAME}$", code)  # the word being typed: the client filters by it
    before = (code[: typed.start()] if typed else code).rstrip()
    scopes = _open_scopes(code)
    inner = scopes[-1] if scopes else None
    if inner is None:
        return [Suggestion(k, "keyword") for k in _TOP_KEYWORDS]
    if inner.keyword in ("train", "stage"):
        return _in_train(code, full, before, inner)
    names = _names_in_scope(full, scopes)
    call = _open_call(code, inner.start)
    if call is not None:
        return _in_call(call, before, names, full)
    if before.endswith("->"):
        return _kinds(chained=True) + _blocks(full)
    if before.endswith("="):
        return _names(names) + _kinds(chained=False) + _blocks(full)
    if re.search(r"\bloss$", before):
        return [s for s in _kinds(chained=False) if REGISTRY[s.label].role == "loss"]
    keywords = [Suggestion(k, "keyword") for k in _BODY_KEYWORDS]
    return keywords + _names(names) + _kinds(chained=False) + _blocks(full)


def _blank_comments_and_strings(code: str) -> str:
    """The text with comments and strings blanked (same length, so offsets hold), so that
    brackets and words in them do not count."""
    return _COMMENT_OR_STRING.sub(lambda m: " " * len(m[0]), code)


def _in_comment_or_string(code: str) -> bool:
    """Whether the end of `code` is inside a comment or a string."""
    matches = list(_COMMENT_OR_STRING.finditer(code))
    last = matches[-1] if matches else None
    if last is None or last.end() != len(code):
        return False
    return last[0].startswith("#") or not last[1]


def _open_scopes(code: str) -> list[_Scope]:
    """The `{`s still open at the end of `code`, outermost first."""
    stack: list[_Scope] = []
    for match in re.finditer(r"[{}]", code):
        if match[0] == "}":
            if stack:
                stack.pop()
            continue
        head = _HEADER.search(code, max(0, match.start() - 400), match.start())
        if head is None:
            stack.append(_Scope("", "", (), match.end()))
            continue
        params = tuple(re.findall(rf"(?:^|,)\s*({_NAME})", head[4] or ""))
        stack.append(_Scope(head[1], head[2], params, match.end()))
    return stack


@dataclass(frozen=True)
class _Call:
    """A call whose `(` is open at the cursor: what is already given in it."""

    callee: str
    keywords: tuple[str, ...]
    positional: int  # arguments given by position before the one being typed
    chained: bool  # a link of a chain (`x -> dense(`): the chain gives the first input


def _open_call(code: str, since: int) -> _Call | None:
    """The innermost call whose `(` is still open after `since`."""
    depth = 0
    for i in range(len(code) - 1, since - 1, -1):
        if code[i] in ")]":
            depth += 1
        elif code[i] in "([":
            if depth == 0:
                callee = re.search(rf"({_NAME})\s*$", code[since:i])
                if code[i] == "[" or callee is None:
                    return None
                args = _outside(_outside(code[i + 1 :], "(", ")"), "[", "]").split(",")[:-1]
                keywords = re.findall(rf"({_NAME})\s*=", "".join([*args, code[i + 1 :]]))
                positional = sum("=" not in a for a in args)
                chained = code[since : since + callee.start()].rstrip().endswith("->")
                return _Call(callee[1], tuple(keywords), positional, chained)
            depth -= 1
    return None


def _in_call(call: _Call, before: str, names: list[str], code: str) -> list[Suggestion]:
    params = _params_of(call.callee, code)
    key = re.search(rf"({_NAME})\s*=$", before)
    if key is not None:
        spec = next((p for p in params if p.name == key[1]), None)
        if spec is not None and spec.choices:
            detail = f"{call.callee}({spec.name}=...)"
            return [Suggestion(c, "value", detail) for c in spec.choices]
        return _names(names)
    inputs = 0 if call.chained else _input_count(call.callee)
    unused = [p for p in params[max(0, call.positional - inputs) :] if p.name not in call.keywords]
    return [_parameter(p) for p in unused] + _names(names)


def _input_count(callee: str) -> int:
    """How many tensor inputs come before a callee's parameters (a block's: taken as one)."""
    if callee in REGISTRY:
        return len(REGISTRY[callee].signature.inputs)
    return 0 if any(callee in entries for entries in _ENTRY_SETTINGS.values()) else 1


def _params_of(callee: str, code: str) -> Sequence[ParamSpec]:
    if callee in REGISTRY:
        return REGISTRY[callee].signature.params
    block = re.search(rf"\bblock\s+{callee}\s*\(([^()]*)\)", code)
    if block is not None:
        names = re.findall(rf"(?:^|,)\s*({_NAME})", block[1])
        return [ParamSpec(name, "any", "a parameter of the block") for name in names]
    for entries in _ENTRY_SETTINGS.values():
        if callee in entries:
            return entries[callee].params
    return ()


def _parameter(p: ParamSpec) -> Suggestion:
    default = "required" if p.required else f"default {show(p.default)}"
    return Suggestion(f"{p.name}=", "parameter", f"{p.type}, {default}", p.doc, f"{p.name}=$1")


def _in_train(code: str, full: str, before: str, inner: _Scope) -> list[Suggestion]:
    call = _open_call(code, inner.start)
    if call is not None:
        return _in_call(call, before, [], full)
    key = re.search(rf"({_NAME})\s*=$", before)
    if key is not None:
        entries = _ENTRY_SETTINGS.get(key[1])
        if entries is not None:
            return [_entry(e) for e in entries.values()]
        spec = catalog.SCALARS.get(key[1])
        return [Suggestion(c, "value", key[1]) for c in spec.choices] if spec else []
    keys: tuple[str, ...] = (*catalog.SHARED_KEYS, *catalog.STAGE_KEYS)
    if inner.keyword == "train":
        keys = (*catalog.SECTION_KEYS, *catalog.SHARED_KEYS)
    settings = [Suggestion(k, "setting", snippet=f"{k} = $1") for k in keys]
    return settings + ([Suggestion("stage", "keyword")] if inner.keyword == "train" else [])


def _entry(entry: catalog.Entry) -> Suggestion:
    """A catalogue entry; its snippet names each required parameter (entries take keywords)."""
    required = [p.name for p in entry.params if p.required]
    args = ", ".join(f"{name}=${{{i}}}" for i, name in enumerate(required, 1))
    detail = _signature(entry.name, entry.params)
    return Suggestion(entry.name, "entry", detail, entry.doc, f"{entry.name}({args})")


def _signature(name: str, params: Sequence[ParamSpec]) -> str:
    """`dense(n, act=none, bias=true)`."""
    args = ", ".join(p.name + ("" if p.required else f"={show(p.default)}") for p in params)
    return f"{name}({args})"


def _kinds(chained: bool) -> list[Suggestion]:
    return [_kind(kind, chained) for kind in REGISTRY.values()]


def _kind(kind: UnitKind, chained: bool) -> Suggestion:
    """A unit kind; its snippet has a placeholder for each input (unless chained, where the
    chain gives the first) and each required parameter."""
    params = kind.signature.params
    inputs = list(kind.signature.inputs)[1 if chained else 0 :]
    slots = inputs + [p.name for p in params if p.required]
    args = ", ".join(f"${{{i}:{name}}}" for i, name in enumerate(slots, 1))
    snippet = f"{kind.name}({args})" if slots else kind.name
    return Suggestion(kind.name, "unit", _signature(kind.name, params), kind.doc, snippet)


def _blocks(code: str) -> list[Suggestion]:
    found = re.findall(rf"\bblock\s+({_NAME})\s*(\([^()]*\))?", code)
    return [Suggestion(name, "block", f"block {name}{params}") for name, params in found]


def _names_in_scope(full: str, scopes: list[_Scope]) -> list[str]:
    """Names the cursor's network or block defines, before or after it (lexically: inputs,
    `let`s and assignments), its block parameters, and the top-level `let`s; `full` is the
    whole text, blanked."""
    inner = next((s for s in reversed(scopes) if s.keyword in ("network", "block")), None)
    names = list(inner.params) if inner else []
    if inner is not None:
        body = _outside(full[inner.start : _closing(full, inner.start)], "(", ")")
        names += re.findall(rf"\b(?:input|let)\s+({_NAME})", body)
        for targets in re.findall(rf"({_NAME}(?:\s*,\s*{_NAME})*)\s*=(?![=>])", body):
            names += re.findall(_NAME, targets)
    names += re.findall(rf"\blet\s+({_NAME})", _outside(full, "{", "}"))
    keywords = {*_BODY_KEYWORDS, *_TOP_KEYWORDS}
    return [n for n in dict.fromkeys(names) if n not in keywords]


def _closing(code: str, start: int) -> int:
    """The offset of the `}` that closes the `{` just before `start`, or the end of the text."""
    depth = 0
    for match in re.finditer(r"[{}]", code[start:]):
        if match[0] == "{":
            depth += 1
        elif depth == 0:
            return start + match.start()
        else:
            depth -= 1
    return len(code)


def _outside(code: str, open: str, close: str) -> str:
    """The text with everything between matching brackets blanked."""
    depth, out = 0, []
    for char in code:
        if char == close and depth > 0:
            depth -= 1
        out.append(char if depth == 0 else " ")
        if char == open:
            depth += 1
    return "".join(out)


def _names(names: list[str]) -> list[Suggestion]:
    return [Suggestion(n, "name") for n in names]
