"""The editor files: the TextMate grammar's regexes compile, and its word lists are exactly
the language's keywords and built-in functions; the VS Code manifest points at it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from model.check_expr import BUILTINS
from model.parse import keywords

EDITORS = Path(__file__).resolve().parent.parent / "editors"
GRAMMAR = json.loads((EDITORS / "plug.tmLanguage.json").read_text())


def _rules(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "match" in node or "begin" in node:
            out.append(node)
        for v in node.values():
            out += _rules(v)
    elif isinstance(node, list):
        for v in node:
            out += _rules(v)
    return out


def _words(rule: dict[str, Any]) -> set[str]:
    m = re.fullmatch(r"\\b\(([a-z|]+)\)\\b(\(\?=.*\))?", rule["match"])
    return set(m.group(1).split("|")) if m else set()


def test_every_regex_compiles() -> None:
    rules = _rules(GRAMMAR["repository"])
    assert len(rules) >= 15
    for r in rules:
        for key in ("match", "begin", "end"):
            if key in r:
                re.compile(r[key])


def test_keyword_lists_match_the_grammar() -> None:
    rules = _rules(GRAMMAR["repository"])
    words: set[str] = set()
    for r in rules:
        if r.get("name", "").startswith(("storage.", "keyword.", "support.type", "constant.language")):
            words |= _words(r)
    assert words == set(keywords())
    builtins = set().union(*(_words(r) for r in rules if r.get("name", "").startswith("support.function")))
    assert builtins == BUILTINS


def test_highlighting_of_a_line() -> None:
    # the declaration rule names the action; the comment rule takes the rest of the line
    rules = {r.get("name"): r for r in _rules(GRAMMAR["repository"]) if "name" in r}
    line = "fair action probe when pc == PROBE { pc := IDLE }  # start"
    assert re.search(rules["comment.line.number-sign.plug"]["match"], line).group(0) == "# start"  # type: ignore[union-attr]
    decl = GRAMMAR["repository"]["declaration"]["patterns"][0]
    assert re.search(decl["match"], line).group(2) == "probe"  # type: ignore[union-attr]


def test_vscode_manifest_contributes_the_language_and_grammar() -> None:
    pkg = json.loads((EDITORS / "vscode" / "package.json").read_text())
    (lang,) = pkg["contributes"]["languages"]
    assert lang["id"] == "plug" and lang["extensions"] == [".plug"]
    (gram,) = pkg["contributes"]["grammars"]
    assert gram["scopeName"] == GRAMMAR["scopeName"]
    assert (EDITORS / "vscode" / gram["path"]).resolve() == EDITORS / "plug.tmLanguage.json"
    assert pkg["contributes"]["configuration"]["properties"]["plugcheck.command"]["default"] == ["plugcheck", "lsp"]
    assert (EDITORS / "vscode" / pkg["main"]).is_file()
    assert json.loads((EDITORS / "vscode" / lang["configuration"]).read_text())["comments"]["lineComment"] == "#"
