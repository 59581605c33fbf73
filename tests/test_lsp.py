"""`plugcheck lsp`: the language server driven as an editor drives it, through a subprocess
speaking JSON-RPC over stdio: diagnostics with their ranges, hover, definition and
references across `extends`, completion, the outline, and the check command."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checker.lsp.diagnose import analyse

PARENT = """protocol parent
const N = 2
enum Mode { IDLE, BUSY }
type Slot = 0 .. N - 1
var mode : Mode = IDLE
var load : [Slot] 0 .. 3 = 0
let busy(s : Slot) = load[s] > 0
fair action work(s : Slot) when mode == IDLE { load[s] := 1; mode := BUSY }
action rest when mode == BUSY { mode := IDLE }
invariant bounded: forall s : Slot. load[s] <= 3
config two { N = 2 }
config three { N = 3 }
"""

CHILD = """extends "parent.plug"
protocol child
replace const N = 1
invariant calm: mode == IDLE or not busy(0)
extend action rest when load[0] >= 0 { after { load[0] := 0 } }
"""

THREE_ERRORS = """protocol bad
var x : 0 .. 3 = 0
action a { x := }
invariant i: x = 1
action b { x := y }
"""


class Client:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "checker.cli", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.next_id = 0
        self.notes: list[dict[str, Any]] = []

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def recv(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        headers = {}
        while line := self.proc.stdout.readline().strip():
            k, v = line.decode().split(":", 1)
            headers[k.strip().lower()] = v.strip()
        if not headers:
            raise EOFError(self.proc.stderr.read().decode() if self.proc.stderr else "server ended")
        return json.loads(self.proc.stdout.read(int(headers["content-length"])))  # type: ignore[no-any-return]

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        while True:
            msg = self.recv()
            if msg.get("id") == self.next_id and "method" not in msg:
                assert "error" not in msg, msg
                return msg.get("result")
            if "method" in msg:
                if "id" in msg:  # a request from the server (e.g. progress): answer it
                    self.send({"id": msg["id"], "result": None})
                else:
                    self.notes.append(msg)

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def note(self, method: str, uri: str | None = None, timeout: float = 20.0) -> dict[str, Any]:
        """The next notification `method` from the server (for `uri`), waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, n in enumerate(self.notes):
                if n["method"] == method and (uri is None or n["params"]["uri"] == uri):
                    del self.notes[i]
                    return n["params"]  # type: ignore[no-any-return]
            msg = self.recv()
            if "method" in msg and "id" not in msg:
                self.notes.append(msg)
        raise TimeoutError(method)

    def diagnostics(self, uri: str) -> list[dict[str, Any]]:
        """The next diagnostics published for `uri`."""
        return self.note("textDocument/publishDiagnostics", uri)["diagnostics"]  # type: ignore[no-any-return]

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.as_uri()
        item = {"uri": uri, "languageId": "plug", "version": 1, "text": path.read_text() if text is None else text}
        self.notify("textDocument/didOpen", {"textDocument": item})
        return uri

    def close(self) -> None:
        self.request("shutdown", None)
        self.notify("exit", None)
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    c = Client()
    c.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    c.notify("initialized", {})
    yield c
    c.close()
    assert c.proc.returncode == 0


@pytest.fixture
def chain(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "parent.plug").write_text(PARENT)
    (tmp_path / "child.plug").write_text(CHILD)
    return tmp_path / "parent.plug", tmp_path / "child.plug"


def rng(line: int, col: int, end_col: int) -> dict[str, Any]:
    """An LSP range on one line, from 1-based line and columns (end exclusive)."""
    return {"start": {"line": line - 1, "character": col - 1}, "end": {"line": line - 1, "character": end_col - 1}}


def pos(uri: str, line: int, col: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line - 1, "character": col - 1}}


def test_three_errors_three_diagnostics(client: Client, tmp_path: Path) -> None:
    uri = client.open(tmp_path / "bad.plug", THREE_ERRORS)
    diags = client.diagnostics(uri)
    got = [(d["range"], d["message"]) for d in diags]
    assert got == [
        (rng(3, 17, 18), "expected an expression after `:=`, found `}`"),
        (rng(4, 16, 17), "`=` is not a comparison: write `==`"),
        (rng(5, 17, 18), "`y` is not defined"),
    ]
    assert all(d["severity"] == 1 and d["source"] == "plugcheck" for d in diags)


def test_change_is_rechecked(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "edit.plug"
    uri = client.open(path, "var x : bool\naction a { x := }\n")
    assert len(client.diagnostics(uri)) == 1
    for v, text in enumerate(["var x : bool\naction a { x := t", "var x : bool\naction a { x := true }\n"], start=2):
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": v}, "contentChanges": [{"text": text}]},
        )
    assert client.diagnostics(uri) == []  # debounced: only the last text is checked


def test_hover_and_definition_across_extends(client: Client, chain: tuple[Path, Path]) -> None:
    parent, child = chain
    uri = client.open(child)
    assert client.diagnostics(uri) == []
    # `mode` (line 4, col 17) is the parent's var
    h = client.request("textDocument/hover", pos(uri, 4, 17))
    assert "var mode : Mode" in h["contents"]["value"]
    d = client.request("textDocument/definition", pos(uri, 4, 17))
    assert d == {"uri": parent.as_uri(), "range": rng(5, 5, 9)}
    # `busy` (col 37): the parent's let, with its parameter
    h = client.request("textDocument/hover", pos(uri, 4, 37))
    assert "let busy(s : Slot)" in h["contents"]["value"]
    d = client.request("textDocument/definition", pos(uri, 4, 37))
    assert d == {"uri": parent.as_uri(), "range": rng(7, 5, 9)}
    # `N` is replaced in the child: its value per config, and the definition is the child's
    h = client.request("textDocument/hover", pos(uri, 3, 15))["contents"]["value"]
    assert "const N = 1" in h and "- `default`: 1" in h and "- `two`: 2" in h and "- `three`: 3" in h


def test_references_across_extends(client: Client, chain: tuple[Path, Path]) -> None:
    parent, child = chain
    uri = client.open(child)
    client.diagnostics(uri)
    refs = client.request("textDocument/references", {**pos(uri, 4, 17), "context": {"includeDeclaration": True}})
    where = sorted((r["uri"] == uri, r["range"]["start"]["line"] + 1) for r in refs)
    # declared on parent line 5, used on parent lines 8 and 9 (twice each) and child line 4
    assert where == [(False, 5), (False, 8), (False, 8), (False, 9), (False, 9), (True, 4)]


def test_action_hover_counts_instances(client: Client, chain: tuple[Path, Path]) -> None:
    parent, _ = chain
    uri = client.open(parent)
    client.diagnostics(uri)
    h = client.request("textDocument/hover", pos(uri, 8, 13))["contents"]["value"]
    assert "fair action work(s : Slot)" in h and "fairness: weak" in h
    assert "- `default`: 2 instances" in h and "- `three`: 3 instances" in h


def test_completion_and_outline(client: Client, chain: tuple[Path, Path]) -> None:
    parent, child = chain
    uri = client.open(child)
    client.diagnostics(uri)
    items = client.request("textDocument/completion", pos(uri, 4, 1))["items"]
    labels = {i["label"] for i in items}
    assert {"mode", "load", "busy", "IDLE", "Slot", "N", "popcount", "invariant", "leadsto"} <= labels
    assert "s" not in labels  # a parameter is in scope only inside its declaration
    puri = client.open(parent)
    client.diagnostics(puri)
    syms = client.request("textDocument/documentSymbol", {"textDocument": {"uri": puri}})
    assert [(s["name"], s["detail"]) for s in syms] == [
        ("N", "const"),
        ("Mode", "enum"),
        ("Slot", "type"),
        ("mode", "var"),
        ("load", "var"),
        ("busy", "let"),
        ("work", "action"),
        ("rest", "action"),
        ("bounded", "invariant"),
        ("two", "config"),
        ("three", "config"),
    ]
    assert [c["name"] for c in syms[1]["children"]] == ["IDLE", "BUSY"]
    # inside `work(s : Slot)`, its parameter completes too
    inside = {i["label"] for i in client.request("textDocument/completion", pos(puri, 8, 50))["items"]}
    assert {"s", "mode", "work"} <= inside


def test_check_lens_returns_verdict_and_counterexample(client: Client, chain: tuple[Path, Path]) -> None:
    _, child = chain
    uri = client.open(child)
    client.diagnostics(uri)
    lenses = client.request("textDocument/codeLens", {"textDocument": {"uri": uri}})
    titles = [lens["command"]["title"] for lens in lenses]
    assert titles == ["check default config", "check calm"]
    calm = lenses[1]["command"]
    out = client.request("workspace/executeCommand", {"command": calm["command"], "arguments": calm["arguments"]})
    assert out["verdict"] == "fail"
    (prop,) = out["properties"]
    assert prop["name"] == "calm" and prop["status"] == "violated"
    assert [s["action"] for s in prop["trace"]["steps"]] == [None, "work"]  # the --json trace shape
    assert prop["trace"]["steps"][1]["state"] == {"mode": "BUSY", "load": [1]} and prop["trace"]["loop"] is None
    shown = client.note("window/showMessage")["message"]
    assert shown == "plugcheck, config default: fail\ncalm violated in 1 step: init -> work"


def test_error_in_the_extended_file_is_shown_on_the_extends_line(client: Client, chain: tuple[Path, Path]) -> None:
    parent, child = chain
    parent.write_text(PARENT.replace("load[s] := 1", "load[s] := 9"))
    uri = client.open(child)
    (d,) = client.diagnostics(uri)
    assert d["range"] == rng(1, 1, 22)
    assert d["message"] == f"{parent}:8:59: error: 9 is out of `load`'s range 0..3"
    assert d["relatedInformation"][0]["location"]["uri"] == parent.as_uri()
    assert d["relatedInformation"][0]["location"]["range"]["start"] == {"line": 7, "character": 58}


def test_one_error_per_failing_declaration_without_cascades() -> None:
    # the var with the unknown type is left out, so the uses of `y` are not errors of their own
    text = "var x : 0 .. 3\nvar y : Blok\naction a { y := 1 }\ninvariant i: x == UNUSD\nlet f = x +\n"
    a = analyse(text, "t.plug")
    assert [(p.span.line, p.span.column, p.message) for p in a.problems] == [
        (2, 9, "unknown type `Blok`"),
        (4, 19, "`UNUSD` is not defined"),
        (5, 12, "expected an expression after `+`, found the end of the file"),
    ]


def test_without_pygls_the_command_says_how_to_install_it() -> None:
    code = "import sys; sys.modules['pygls'] = None; from checker.cli import main; sys.exit(main(['lsp']))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "plugcheck lsp needs pygls: pip install" in proc.stderr and "Traceback" not in proc.stderr


def test_an_extends_that_cannot_be_followed_is_the_only_error(tmp_path: Path) -> None:
    a = analyse(CHILD, str(tmp_path / "child.plug"))  # no parent.plug next to it
    assert [(p.span.line, p.message) for p in a.problems] == [(1, "the spec to extend does not exist: parent.plug")]
    assert a.spec is not None  # the outline still has the child's own declarations


def test_definition_in_a_folder_with_a_space(client: Client, tmp_path: Path) -> None:
    folder = tmp_path / "my specs"
    folder.mkdir()
    (folder / "parent.plug").write_text(PARENT)
    (folder / "child.plug").write_text(CHILD)
    uri = client.open(folder / "child.plug")
    assert client.diagnostics(uri) == []
    d = client.request("textDocument/definition", pos(uri, 4, 17))
    assert d == {"uri": (folder / "parent.plug").as_uri(), "range": rng(5, 5, 9)}
    assert "%20" in d["uri"]


def test_child_outline_and_extended_action(client: Client, chain: tuple[Path, Path]) -> None:
    parent, child = chain
    uri = client.open(child)
    assert client.diagnostics(uri) == []
    syms = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert [(s["name"], s["detail"]) for s in syms] == [
        ("N", "const"),
        ("calm", "invariant"),
        ("rest", "extend action"),
    ]
    assert syms[2]["selectionRange"] == rng(5, 15, 19)
    # the name after `extend action` goes to the parent's action
    d = client.request("textDocument/definition", pos(uri, 5, 15))
    assert d == {"uri": parent.as_uri(), "range": rng(9, 8, 12)}
    # `load` inside the `after` clause is the parent's variable
    d = client.request("textDocument/definition", pos(uri, 5, 50))
    assert d == {"uri": parent.as_uri(), "range": rng(6, 5, 9)}


def test_outline_keeps_a_declaration_that_fails_to_check(client: Client, tmp_path: Path) -> None:
    uri = client.open(tmp_path / "typo.plug", "var x : 0 .. 3\naction a { x := flse }\ninvariant i: x >= 0\n")
    (d,) = client.diagnostics(uri)
    assert d["message"] == "`flse` is not defined"
    syms = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert [s["name"] for s in syms] == ["x", "a", "i"]


def test_notes_are_related_information(client: Client, tmp_path: Path) -> None:
    uri = client.open(tmp_path / "dup.plug", "var x : bool\nvar x : bool\naction a { x := true }\n")
    (d,) = client.diagnostics(uri)
    assert (d["range"]["start"], d["message"]) == ({"line": 1, "character": 0}, "`x` is already defined")
    (info,) = d["relatedInformation"]
    assert info["message"] == "the var `x` is defined here"
    assert info["location"] == {"uri": uri, "range": rng(1, 1, 13)}
