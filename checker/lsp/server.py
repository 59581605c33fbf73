"""The language server: pygls over stdio, on top of `diagnose` and `index`.

Diagnostics are published when a document opens and 0.3 s after the last change; hover,
definition, references, completion, the outline and the code lenses read the analysis of
the document's current text. The `plugcheck.check` command (one lens per config and per
property) runs the explicit engine under a small budget and returns the verdict and any
counterexample as JSON.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types as L
from pygls.lsp.server import LanguageServer

from model import SpecError, build_model, spec_from_text
from model.errors import Span

from .. import __version__
from ..search import Budget, explore
from .diagnose import Analysis, analyse
from .index import Index, build_index, completions, hover, outline

DEBOUNCE = 0.3
CHECK_BUDGET = Budget(max_states=200_000, timeout=20.0, max_graph_states=200_000)
COMMAND = "plugcheck.check"

_KIND = {
    "const": L.SymbolKind.Constant,
    "enum": L.SymbolKind.Enum,
    "type": L.SymbolKind.TypeParameter,
    "var": L.SymbolKind.Variable,
    "let": L.SymbolKind.Function,
    "action": L.SymbolKind.Method,
    "invariant": L.SymbolKind.Boolean,
    "property": L.SymbolKind.Event,
    "reachable": L.SymbolKind.Boolean,
    "config": L.SymbolKind.Namespace,
    "extend action": L.SymbolKind.Method,
    "extend enum": L.SymbolKind.Enum,
}
_COMPLETION = {
    "keyword": L.CompletionItemKind.Keyword,
    "builtin": L.CompletionItemKind.Function,
    "const": L.CompletionItemKind.Constant,
    "enum": L.CompletionItemKind.Enum,
    "member": L.CompletionItemKind.EnumMember,
    "type": L.CompletionItemKind.TypeParameter,
    "var": L.CompletionItemKind.Variable,
    "let": L.CompletionItemKind.Function,
    "action": L.CompletionItemKind.Method,
    "param": L.CompletionItemKind.Variable,
    "local": L.CompletionItemKind.Variable,
}


def uri_to_path(uri: str) -> str:
    u = urlparse(uri)
    return unquote(u.path) if u.scheme == "file" else uri


def path_to_uri(path: str, own: tuple[str, str]) -> str:
    """The URI of a file a span names; `own` is the document's (path, uri)."""
    if path == own[0]:
        return own[1]
    if urlparse(path).scheme and not Path(path).is_absolute():  # untitled:..., not a file
        return path
    return Path(path).resolve().as_uri()  # a parent named relative to the working folder, too


def to_range(span: Span, text: str | None = None) -> L.Range:
    line = max(span.line - 1, 0)
    col = max(span.column - 1, 0)
    if span.end_line and (span.end_line, span.end_column) > (span.line, span.column):
        end = L.Position(span.end_line - 1, max(span.end_column - 1, 0))
    else:  # a point: cover the word there, or one character
        width = 1
        if text is not None:
            lines = text.splitlines()
            if line < len(lines):
                rest = lines[line][col:]
                n = len(rest) - len(rest.lstrip("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
                width = max(n, 1)
        end = L.Position(line, col + width)
    return L.Range(L.Position(line, col), end)


class PlugServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("plugcheck", __version__, text_document_sync_kind=L.TextDocumentSyncKind.Full)
        self.analyses: dict[str, tuple[Analysis, Index | None]] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}

    def analysis(self, uri: str) -> tuple[Analysis, Index | None]:
        """The analysis of the document's current text (computed now if the last one is stale)."""
        doc = self.workspace.get_text_document(uri)
        cached = self.analyses.get(uri)
        if cached is not None and cached[0].text == doc.source:
            return cached
        result = _analyse(doc.source, uri_to_path(uri))
        self.analyses[uri] = result
        return result

    def publish(self, uri: str) -> None:
        a, _ = self.analysis(uri)
        own = (a.path, uri)
        diags = []
        for p in a.problems:
            related = [
                L.DiagnosticRelatedInformation(
                    L.Location(path_to_uri(s.file, own), to_range(s)),
                    text,
                )
                for text, s in p.notes
                if s is not None and s.line
            ]
            diags.append(
                L.Diagnostic(
                    range=to_range(p.span, a.text),
                    message=p.message,
                    severity=L.DiagnosticSeverity.Error,
                    source="plugcheck",
                    related_information=related or None,
                )
            )
        version = self.workspace.get_text_document(uri).version
        self.text_document_publish_diagnostics(L.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diags))

    def schedule(self, uri: str, delay: float) -> None:
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()

        async def later() -> None:
            await asyncio.sleep(delay)
            text = self.workspace.get_text_document(uri).source
            # off the event loop: a large spec takes most of a second, and hovers keep coming
            result = await asyncio.get_running_loop().run_in_executor(
                self.thread_pool, _analyse, text, uri_to_path(uri)
            )
            if self.pending.get(uri) is not asyncio.current_task():
                return  # a newer change took over
            self.pending.pop(uri, None)
            self.analyses[uri] = result
            self.publish(uri)

        self.pending[uri] = asyncio.ensure_future(later())


def _analyse(text: str, path: str) -> tuple[Analysis, Index | None]:
    a = analyse(text, path)
    return a, build_index(a.spec) if a.spec is not None else None


server = PlugServer()


@server.feature(L.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: PlugServer, params: L.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0.0)


@server.feature(L.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: PlugServer, params: L.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, DEBOUNCE)


@server.feature(L.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PlugServer, params: L.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.analyses.pop(uri, None)
    ls.text_document_publish_diagnostics(L.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _target(ls: PlugServer, uri: str, pos: L.Position) -> tuple[Analysis, Index, Any] | None:
    a, idx = ls.analysis(uri)
    if idx is None:
        return None
    d = idx.at(a.path, pos.line + 1, pos.character + 1)
    return (a, idx, d) if d is not None else None


@server.feature(L.TEXT_DOCUMENT_HOVER)
def on_hover(ls: PlugServer, params: L.HoverParams) -> L.Hover | None:
    t = _target(ls, params.text_document.uri, params.position)
    if t is None:
        return None
    a, _, d = t
    return L.Hover(contents=L.MarkupContent(kind=L.MarkupKind.Markdown, value=hover(d, a.models)))


@server.feature(L.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: PlugServer, params: L.DefinitionParams) -> L.Location | None:
    t = _target(ls, params.text_document.uri, params.position)
    if t is None:
        return None
    a, _, d = t
    return L.Location(path_to_uri(d.span.file, (a.path, params.text_document.uri)), to_range(d.span))


@server.feature(L.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: PlugServer, params: L.ReferenceParams) -> list[L.Location]:
    t = _target(ls, params.text_document.uri, params.position)
    if t is None:
        return []
    a, idx, d = t
    own = (a.path, params.text_document.uri)
    spans = idx.uses(d)
    if not params.context.include_declaration:
        spans = [s for s in spans if s != d.span]
    return [L.Location(path_to_uri(s.file, own), to_range(s)) for s in spans]


@server.feature(L.TEXT_DOCUMENT_COMPLETION)
def on_completion(ls: PlugServer, params: L.CompletionParams) -> L.CompletionList:
    a, idx = ls.analysis(params.text_document.uri)
    items: list[L.CompletionItem] = []
    names = completions(idx, a.path, params.position.line + 1) if idx is not None else completions(Index(), "", 0)
    for label, kind in names:
        items.append(L.CompletionItem(label=label, kind=_COMPLETION.get(kind), detail=kind))
    return L.CompletionList(is_incomplete=False, items=items)


@server.feature(L.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_symbols(ls: PlugServer, params: L.DocumentSymbolParams) -> list[L.DocumentSymbol]:
    a, _ = ls.analysis(params.text_document.uri)
    if a.spec is None:
        return []
    out = []
    for name, kind, whole, at, children in outline(a.spec, a.text):
        kids = [
            L.DocumentSymbol(name=m, kind=L.SymbolKind.EnumMember, range=to_range(s), selection_range=to_range(s))
            for m, s in children
        ]
        out.append(
            L.DocumentSymbol(
                name=name,
                detail=kind,
                kind=_KIND[kind],
                range=to_range(whole),
                selection_range=to_range(at),
                children=kids or None,
            )
        )
    return out


def _lens(line: int, title: str, args: list[Any]) -> L.CodeLens:
    at = L.Position(max(line - 1, 0), 0)
    return L.CodeLens(range=L.Range(at, at), command=L.Command(title=title, command=COMMAND, arguments=args))


@server.feature(L.TEXT_DOCUMENT_CODE_LENS)
def on_code_lens(ls: PlugServer, params: L.CodeLensParams) -> list[L.CodeLens]:
    """`check default config` at the top, `check config NAME` on each config, `check NAME` on each
    property; none while the spec has errors."""
    a, _ = ls.analysis(params.text_document.uri)
    if a.spec is None or a.problems:
        return []
    uri = params.text_document.uri
    lenses = [_lens(1, "check default config", [uri, "default", None])]
    for name, kind, whole, _, _ in outline(a.spec, a.text):
        if kind == "config":
            lenses.append(_lens(whole.line, f"check config {name}", [uri, name, None]))
        elif kind in ("invariant", "property", "reachable"):
            lenses.append(_lens(whole.line, f"check {name}", [uri, "default", name]))
    return lenses


def run_check(text: str, path: str, config: str, prop: str | None, budget: Budget = CHECK_BUDGET) -> dict[str, Any]:
    """The explicit engine on one config of the document's text: the `--json` result of that run,
    reduced to one property when one is named."""
    try:
        model = build_model(spec_from_text(text, path), config)
        res, _ = explore(model, budget)
    except SpecError as e:
        return {"verdict": "error", "error": e.render()}
    out = res.to_json()
    if prop is not None:
        out["properties"] = [p for p in out["properties"] if p["name"] == prop]
        statuses = {p["status"] for p in out["properties"]}
        out["verdict"] = "fail" if "violated" in statuses else "inconclusive" if "inconclusive" in statuses else "pass"
    return out


@server.command(COMMAND)
@server.thread()
def on_check(ls: PlugServer, *args: Any) -> dict[str, Any]:
    given = list(args[0]) if len(args) == 1 and isinstance(args[0], list) else list(args)
    uri, config, prop = (given + [None] * 3)[:3]
    text = ls.workspace.get_text_document(uri).source
    out = run_check(text, uri_to_path(uri), config or "default", prop)
    ls.window_show_message(L.ShowMessageParams(type=L.MessageType.Info, message=summary(out, config or "default")))
    ls.window_log_message(L.LogMessageParams(type=L.MessageType.Info, message=json.dumps(out, indent=1)))
    return out


def summary(out: dict[str, Any], config: str) -> str:
    """One message: the verdict, and each counterexample as its steps."""
    parts = [f"plugcheck, config {config}: {out['verdict']}"]
    if "error" in out:
        parts.append(out["error"])
    for p in out.get("properties", []):
        trace = p.get("trace")
        if p["status"] == "violated" and trace is not None:
            steps = trace["steps"] if isinstance(trace, dict) else trace
            labels = [s["action"] or "init" for s in steps]
            n = len(steps) - 1
            parts.append(f"{p['name']} violated in {n} step{'s' if n != 1 else ''}: " + " -> ".join(labels))
        elif p["status"] != "holds":
            parts.append(f"{p['name']}: {p['status']}")
    return "\n".join(parts)


def serve() -> None:
    server.start_io()
