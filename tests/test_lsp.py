"""The language server: a real LSP session over stdio with `netspec lsp`, and the pure functions
behind each feature (analysis, fixes, hover, definition, completion, positions)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import pytest

from netspec.api import compile
from netspec.editor.analysis import analyse, placed
from netspec.editor.complete import complete
from netspec.editor.fixes import fix_for
from netspec.editor.hover import hover
from netspec.editor.navigate import Target, definition
from netspec.editor.positions import LineIndex
from netspec.lang.parser import parse

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}

LENET = """\
network lenet {
  input image: [1, 28, 28]
  input label: class(10)
  features = image -> conv2d(6, 5) -> relu -> maxpool(2) -> conv2d(16, 5) -> relu -> maxpool(2)
  logits = features -> dense(120, act=relu) -> dense(10)
  loss cross_entropy(logits, label)
}
"""
FIXED = LENET.replace("features -> dense", "features -> flatten -> dense")


class Client:
    """A minimal LSP client: JSON-RPC messages with Content-Length framing on a pipe."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process, self.stdin = process, process.stdin
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.next_id = 0
        self.reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        while True:
            headers = {}
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            if not headers:
                return
            self.messages.put(json.loads(stream.read(int(headers["content-length"]))))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        answer = self.wait(lambda m: m.get("id") == self.next_id and "method" not in m)
        assert "error" not in answer, answer
        return answer["result"]

    def wait(self, wanted: Any) -> dict[str, Any]:
        """The next message that `wanted` accepts (others are dropped), within 15 seconds."""
        while True:
            message = self.messages.get(timeout=15)
            if wanted(message):
                return message

    def diagnostics(self, uri: str) -> list[dict[str, Any]]:
        published = self.wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
            )
        )
        found: list[dict[str, Any]] = published["params"]["diagnostics"]
        return found


def _at(text: str, needle: str, shift: int = 0) -> dict[str, int]:
    """The LSP position of `needle`'s first character (plus `shift`) in `text`."""
    line, char = LineIndex(text).position(text.index(needle) + shift)
    return {"line": line, "character": char}


def test_a_client_session_over_stdio(tmp_path: Path) -> None:
    spec = tmp_path / "lenet.net"
    spec.write_text(LENET, encoding="utf-8")
    uri = spec.resolve().as_uri()
    doc = {"uri": uri}
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "netspec", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=ENV,
            cwd=tmp_path,
        )
        client = Client(process)
        try:
            init = client.request(
                "initialize",
                {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}},
            )
            assert init["capabilities"]["hoverProvider"]
            client.notify("initialized", {})
            opened = {"uri": uri, "languageId": "netspec", "version": 1, "text": LENET}
            client.notify("textDocument/didOpen", {"textDocument": opened})

            [found] = client.diagnostics(uri)
            assert found["code"] == "E301" and found["severity"] == 1
            start = _at(LENET, "dense(120")
            end = _at(LENET, "dense(120", len("dense(120, act=relu)"))
            assert found["range"] == {"start": start, "end": end}
            assert "help: insert `flatten` before `dense`" in found["message"]
            assert found["relatedInformation"][0]["location"]["range"]["start"] == _at(
                LENET, "image -> conv2d"
            )

            context = {"diagnostics": [found], "only": ["quickfix"]}
            params = {"textDocument": doc, "range": found["range"], "context": context}
            [action] = client.request("textDocument/codeAction", params)
            [edit] = action["edit"]["changes"][uri]
            assert edit == {"range": {"start": start, "end": start}, "newText": "flatten -> "}

            change = {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"text": FIXED}],
            }
            client.notify("textDocument/didChange", change)
            assert client.diagnostics(uri) == []

            position = {"textDocument": doc, "position": _at(FIXED, "conv2d(6", 2)}
            shown = client.request("textDocument/hover", position)["contents"]["value"]
            assert "`conv2d(6, 5)` gives `[6, 24, 24]`, 156 parameters" in shown

            position = {"textDocument": doc, "position": _at(FIXED, "features -> flatten", 3)}
            target = client.request("textDocument/definition", position)
            features = _at(FIXED, "features =")
            assert target["uri"] == uri and target["range"]["start"] == features

            position = {"textDocument": doc, "position": _at(FIXED, "flatten -> dense")}
            completion = client.request("textDocument/completion", position)
            labels = {item["label"] for item in completion["items"]}
            assert {"dense", "conv2d", "flatten"} <= labels and "features" not in labels

            assert client.request("shutdown", None) is None
            client.notify("exit", None)
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            client.reader.join(timeout=5)
            process.stdin.close()  # type: ignore[union-attr]
            process.stdout.close()  # type: ignore[union-attr]


# --- the pure functions -------------------------------------------------------------------------


def test_an_error_in_a_used_file_is_shown_at_the_use(tmp_path: Path) -> None:
    (tmp_path / "lib.net").write_text("block b(n) { input x\n y = x -> dens(n)\n output y }\n")
    text = 'use "lib.net"\nnetwork m { input q: [3]  y = q -> b(4) }\n'
    analysis = analyse(text, str(tmp_path / "main.net"))
    [shown] = placed(analysis)
    assert shown.diagnostic.code == "E201" and shown.elsewhere
    assert text[shown.start : shown.end] == 'use "lib.net"'
    assert fix_for(shown.diagnostic, text, analysis.path) is None  # its edit is in lib.net


def test_fixes_for_a_misspelt_kind_and_a_missing_parameter() -> None:
    text = "network n { input x: [4]\n  y = x -> dens(3)\n  z = x -> dense(act=relu)\n}\n"
    analysis = analyse(text, "n.net")
    fixes = [fix_for(p.diagnostic, text, "n.net") for p in placed(analysis)]
    edited = [text[: f.start] + f.text + text[f.end :] for f in fixes if f is not None]
    assert edited == [
        text.replace("dens(3)", "dense(3)"),
        text.replace("dense(act=relu)", "dense(act=relu, n=...)"),
    ]


def test_hover_uses_the_last_good_compile_while_the_text_has_errors() -> None:
    good = "network n { input x: [4]\n  h = x -> dense(8, act=relu)\n}\n"
    networks = compile(good).networks
    typing = good.replace("}", "  y = h -> \n}")  # does not parse now
    shown = hover(typing, typing.index("h ="), networks, None)
    assert shown.startswith("**h**: `dense(8, act=relu)` gives `[8]`, 40 parameters")
    assert "relu(" in shown  # its equations


def test_hover_on_a_kind_shows_its_page() -> None:
    text = "network n { input x: [4]  y = x -> dense(3) }"
    shown = hover(text, text.index("dense"), compile(text).networks, parse(text, "n.net"))
    assert "gives `[3]`, 15 parameters" in shown and "dense: " in shown and "example:" in shown


def test_definition_of_names_blocks_lets_and_use_paths() -> None:
    text = (
        'use "lib.net"\nlet width = 8\n'
        "block res(n) { input x\n  y = x -> dense(n)\n  output y }\n"
        "network m { input q: [3]\n  h = q -> res(width)\n  z = h -> relu }\n"
        "train m { data = digits()  stage a { freeze = [h] } }\n"
    )
    module = parse(text, "dir/main.net")

    def target_of(needle: str, shift: int = 0) -> int:
        found = definition(text, text.index(needle) + shift, module)
        assert found is not None and found.file == "dir/main.net"
        assert text[found.start : found.end].isidentifier()
        return found.start

    assert target_of("res(width)") == text.index("res(n)")
    assert target_of("width)") == text.index("width =")
    assert target_of("h -> relu") == text.index("  h =") + 2
    assert target_of("dense(n)", 6) == text.index("n)")  # a block parameter
    assert target_of("[h]", 1) == text.index("  h =") + 2  # a unit of the trained network
    assert definition(text, 6, module) == Target("dir/lib.net", 0, 0)


def test_completion_in_text_that_does_not_parse() -> None:
    text = "block res(n, p=0.1) { input x  y = x }\nnetwork n { input x: [4]\n  y = x -> "

    def labels(at: str, shift: int = 0) -> list[str]:
        code = text + at
        return [s.label for s in complete(code, len(code) + shift)]

    after_arrow = labels("")
    assert "dense" in after_arrow and "res" in after_arrow and "x" not in after_arrow
    assert labels("dense(3, ") == ["act=", "bias=", "x", "y"]
    assert labels("dense(3, act=")[:2] == ["none", "sigmoid"]
    assert labels("res(4, ") == ["p=", "x", "y"]
    assert labels("relu # a comment ") == []
    train = "train n { data = digits(test=0.2)\n  optimizer = "
    assert [s.label for s in complete(train, len(train))] == ["sgd", "adam", "adamw", "rmsprop"]
    [adam] = [s for s in complete(train, len(train)) if s.label == "adam"]
    assert adam.detail.startswith("adam(lr=")


def test_positions_count_utf16_code_units() -> None:
    text = "# \U0001f600 é\nx"
    index = LineIndex(text)
    assert index.position(text.index("é")) == (0, 5)
    assert index.offset(0, 5) == text.index("é")
    assert index.position(len(text)) == (1, 1)
    assert LineIndex(text, "utf-8").position(text.index("é")) == (0, 7)


def test_without_pygls_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from netspec.cli import main

    for name in [m for m in sys.modules if m.startswith("netspec.editor.server")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pygls", None)  # `import pygls` now fails as if missing
    monkeypatch.setitem(sys.modules, "pygls.lsp", None)
    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)
    assert main(["lsp"]) == 1
    err = capsys.readouterr().err
    assert "E753" in err and "netspec[lsp]" in err
