"""The grammar is LALR(1) without conflicts, and the cached parser starts quickly."""

from __future__ import annotations

import logging
import time

import pytest
from lark import Lark
from lark.exceptions import GrammarError
from lark.utils import logger as lark_logger

from model.parse import GRAMMAR, parser


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_grammar_has_no_lalr_conflicts() -> None:
    cap = _Capture()
    old_level = lark_logger.level
    lark_logger.addHandler(cap)
    lark_logger.setLevel(logging.DEBUG)
    try:
        # debug=True makes lark log every shift/reduce conflict it resolves as a shift;
        # reduce/reduce conflicts raise GrammarError
        Lark(GRAMMAR.read_text(), parser="lalr", debug=True)
    except GrammarError as exc:  # pragma: no cover - the assertion below explains
        pytest.fail(f"reduce/reduce conflict: {exc}")
    finally:
        lark_logger.removeHandler(cap)
        lark_logger.setLevel(old_level)
    conflicts = [m for m in cap.messages if "conflict" in m.lower() or "collision" in m.lower()]
    assert conflicts == []


def test_conflict_capture_sees_a_conflict() -> None:
    # the capture above must be able to see one: a classic dangling-else grammar has a conflict
    cap = _Capture()
    old_level = lark_logger.level
    lark_logger.addHandler(cap)
    lark_logger.setLevel(logging.DEBUG)
    try:
        Lark(
            """
            start: s
            s: "if" "x" s | "if" "x" s "else" s | "y"
            %ignore " "
            """,
            parser="lalr",
            debug=True,
        )
    finally:
        lark_logger.removeHandler(cap)
        lark_logger.setLevel(old_level)
    assert any("Shift/Reduce conflict" in m for m in cap.messages)


def test_cached_parser_starts_fast() -> None:
    parser.cache_clear()
    t0 = time.perf_counter()
    p = parser()
    elapsed = time.perf_counter() - t0
    assert isinstance(p.options.cache, str) and "/.cache/plugcheck/" in p.options.cache  # private, not /tmp
    assert p.options.parser == "lalr"
    assert parser() is p  # built once per process
    # lark's cache file (written by an earlier build) makes start-up well under a second
    assert elapsed < 1.0
    assert p.parse("protocol p var x : bool").data == "start"


def test_shift_operators_lex_as_one_token() -> None:
    # `<<` must not lex as two `<` comparisons
    toks = [t.type for t in parser().lex("x := 1 << 3 >> 1 < 2")]
    assert toks == ["NAME", "ASSIGN", "INT", "SHIFT", "INT", "SHIFT", "INT", "CMP", "INT"]
