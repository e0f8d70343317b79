"""The language server for `.net` files, on pygls: `netspec lsp` speaks LSP on stdio.

Every open document is compiled as it is typed (on open, change and save) with the same
compiler as `netspec check`, and its diagnostics are published: each at its span, its help and
note in the message, its other labels as related information, warnings as warnings; an error
in a `use`d file is shown at that `use`. The server also answers:

- hover: a unit's output shape, parameter count and equations (from the last compile that
  succeeded, while the text has errors), and a unit kind's, train entry's or setting's page;
- go to definition: of inputs, values, `let`s, block parameters, blocks and networks (also in
  `use`d files), and of a `use "file.net"` string: the file;
- completion: read lexically around the cursor, so it works in text that does not parse;
- code actions: the quick fix a diagnostic's help names (`did you mean`, insert `flatten`, add
  a missing parameter).

This module is the protocol's glue; what it answers comes from pure functions of the text
beside it (analysis, hover, navigate, complete, fixes). It imports pygls and lsprotocol, the
`lsp` extra: `pip install 'netspec[lsp]'`.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from netspec import __version__
from netspec.diagnostics.core import Severity
from netspec.editor.analysis import Analysis, Placed, analyse, placed
from netspec.editor.complete import Suggestion, complete
from netspec.editor.fixes import fix_for
from netspec.editor.hover import hover
from netspec.editor.navigate import definition
from netspec.editor.positions import LineIndex
from netspec.lang.source import Span

LOG = logging.getLogger("netspec.lsp")
F = TypeVar("F", bound=Callable[..., Any])

_KINDS = {
    "unit": lsp.CompletionItemKind.Function,
    "block": lsp.CompletionItemKind.Module,
    "name": lsp.CompletionItemKind.Variable,
    "parameter": lsp.CompletionItemKind.Property,
    "value": lsp.CompletionItemKind.EnumMember,
    "setting": lsp.CompletionItemKind.Field,
    "entry": lsp.CompletionItemKind.Class,
    "keyword": lsp.CompletionItemKind.Keyword,
}


class NetspecServer(LanguageServer):
    """The server, with each open document's latest analysis and its last one that compiled."""

    def __init__(self) -> None:
        super().__init__("netspec", __version__, lsp.TextDocumentSyncKind.Incremental)
        self.latest: dict[str, Analysis] = {}
        self.good: dict[str, Analysis] = {}

    def refresh(self, uri: str) -> None:
        """Compile the document and publish its diagnostics; a failure inside netspec is logged
        and publishes nothing."""
        document = self.workspace.get_text_document(uri)
        try:
            analysis = analyse(document.source, document.path or "<string>", self.folders())
            diagnostics = [self.lsp_diagnostic(p, analysis) for p in placed(analysis)]
        except Exception:
            LOG.exception("netspec failed on %s", uri)
            return
        self.latest[uri] = analysis
        if analysis.compiled is not None:
            self.good[uri] = analysis
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        )

    def folders(self) -> list[str]:
        """The workspace's folders: a spec there may `use` and read files in all of them."""
        paths = [to_fs_path(f.uri) for f in self.workspace.folders.values()]
        return [p for p in paths if p is not None]

    def index(self, text: str) -> LineIndex:
        return LineIndex(text, str(self.workspace.position_encoding or "utf-16"))

    def lsp_diagnostic(self, place: Placed, analysis: Analysis) -> lsp.Diagnostic:
        d = place.diagnostic
        message = d.message
        span = d.primary_span
        if place.elsewhere and span is not None:
            message = f"{span.excerpt_location()}: {message}"
        message += "".join(f"\n{k}: {v}" for k, v in (("help", d.help), ("note", d.note)) if v)
        related = [
            lsp.DiagnosticRelatedInformation(self.location(label.span, analysis), label.message)
            for label in d.labels
            if place.elsewhere or not label.primary
        ]
        severity = lsp.DiagnosticSeverity.Warning
        if d.severity is Severity.ERROR:
            severity = lsp.DiagnosticSeverity.Error
        return lsp.Diagnostic(
            range=self.range(analysis.text, place.start, place.end),
            message=message,
            severity=severity,
            code=d.code,
            source="netspec",
            related_information=related or None,
        )

    def range(self, text: str, start: int, end: int) -> lsp.Range:
        index = self.index(text)
        (line, char), (end_line, end_char) = index.position(start), index.position(end)
        return lsp.Range(lsp.Position(line, char), lsp.Position(end_line, end_char))

    def location(self, span: Span, analysis: Analysis) -> lsp.Location:
        """Where a span of the document or of another file is, as an LSP location."""
        text = analysis.text if span.file == analysis.path else analysis.sources.text(span.file)
        if text is None:
            text = _read(span.file)
        return lsp.Location(_uri(span.file), self.range(text, span.start, span.end))

    def offset(self, uri: str, position: lsp.Position) -> tuple[Analysis, int] | None:
        analysis = self.latest.get(uri)
        if analysis is None:
            return None
        return analysis, self.index(analysis.text).offset(position.line, position.character)


def _uri(file: str) -> str:
    return Path(file).resolve().as_uri()


def _read(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _guarded(default: object) -> Callable[[F], F]:
    """A request handler that logs a failure inside netspec and answers `default`."""

    def wrap(handler: F) -> F:
        @functools.wraps(handler)  # pygls reads the signature: its first parameter is `ls`
        def guarded(*args: Any) -> Any:
            try:
                return handler(*args)
            except Exception:
                LOG.exception("netspec failed in %s", handler.__name__)
                return default

        return cast(F, guarded)

    return wrap


def build() -> NetspecServer:
    """A server with every feature registered."""
    server = NetspecServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: NetspecServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: NetspecServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: NetspecServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: NetspecServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.latest.pop(uri, None)
        ls.good.pop(uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @_guarded(None)
    def on_hover(ls: NetspecServer, params: lsp.HoverParams) -> lsp.Hover | None:
        found = ls.offset(params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, offset = found
        good = ls.good.get(params.text_document.uri)
        networks = good.compiled.networks if good is not None and good.compiled else {}
        text = hover(analysis.text, offset, networks, analysis.module)
        if not text:
            return None
        return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @_guarded(None)
    def on_definition(ls: NetspecServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        uri = params.text_document.uri
        found = ls.offset(uri, params.position)
        good = ls.good.get(uri)
        if found is None:
            return None
        analysis, offset = found
        module = analysis.module or (good.module if good is not None else None)
        compiled = analysis.compiled or (good.compiled if good is not None else None)
        if module is None:
            return None
        program = compiled.program if compiled is not None else None
        target = definition(analysis.text, offset, module, program)
        if target is None:
            return None
        span = Span(target.file, target.start, target.end, 1, 1, 1, 1)
        return ls.location(span, analysis)

    @server.feature(
        lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[">", "(", ","])
    )
    @_guarded(None)
    def on_completion(ls: NetspecServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        document = ls.workspace.get_text_document(params.text_document.uri)
        text = document.source
        offset = ls.index(text).offset(params.position.line, params.position.character)
        return lsp.CompletionList(False, [_item(s) for s in complete(text, offset)])

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
    )
    @_guarded([])
    def on_code_action(ls: NetspecServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        uri = params.text_document.uri
        analysis = ls.latest.get(uri)
        if analysis is None:
            return []
        index = ls.index(analysis.text)
        first = index.offset(params.range.start.line, params.range.start.character)
        last = index.offset(params.range.end.line, params.range.end.character)
        actions = []
        for place in placed(analysis):
            fix = fix_for(place.diagnostic, analysis.text, analysis.path)
            if fix is None or place.end < first or place.start > last:
                continue
            edit = lsp.TextEdit(ls.range(analysis.text, fix.start, fix.end), fix.text)
            actions.append(
                lsp.CodeAction(
                    fix.title,
                    kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[ls.lsp_diagnostic(place, analysis)],
                    edit=lsp.WorkspaceEdit(changes={uri: [edit]}),
                    is_preferred=True,
                )
            )
        return actions

    return server


def _item(s: Suggestion) -> lsp.CompletionItem:
    return lsp.CompletionItem(
        s.label,
        kind=_KINDS[s.kind],
        detail=s.detail or None,
        documentation=s.doc or None,
        insert_text=s.snippet or None,
        insert_text_format=lsp.InsertTextFormat.Snippet if s.snippet else None,
    )


def serve() -> None:
    """Run the server on stdin and stdout until the client asks it to exit."""
    logging.basicConfig(level=logging.WARNING, format="netspec lsp: %(levelname)s %(message)s")
    # pygls closes the stream it writes to on `exit`; give it a copy, so that sys.stdout stays
    # open for the command line's last flush
    with os.fdopen(os.dup(sys.stdout.fileno()), "wb") as stdout:
        build().start_io(sys.stdin.buffer, stdout)
