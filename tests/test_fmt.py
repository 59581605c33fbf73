"""`plugcheck fmt`: one canonical layout that keeps every comment, changes nothing the front end
sees (same AST, same typed model per config), formats its own output to itself, and refuses
a spec with a syntax error with the parser's error."""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.cli import main
from checker.format import format_source
from checker.format.comments import comment_texts
from checker.format.doc import render
from checker.format.layout import expr
from model import SpecError, build_model, load_spec
from model import syntax as S
from model.check import config_names
from model.parse import parse_text
from tests.test_fuzz import token_mutants

SPECS = Path(__file__).resolve().parent.parent / "specs"
SHIPPED = sorted(SPECS.rglob("*.plug"))


@cache
def formatted(path: Path) -> str:
    return format_source(path.read_text(), str(path))


@pytest.fixture(scope="module")
def formatted_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """specs/ with every file formatted (so `extends` reads formatted parents too)."""
    root = tmp_path_factory.mktemp("fmt") / "specs"
    shutil.copytree(SPECS, root)
    for f in SHIPPED:
        (root / f.relative_to(SPECS)).write_text(formatted(f))
    return root


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(SPECS)))
def test_shipped_spec_formats_idempotently_to_the_same_ast(path: Path) -> None:
    source = path.read_text()
    once = formatted(path)
    assert format_source(once, str(path)) == once
    assert parse_text(once, str(path)).decls == parse_text(source, str(path)).decls
    assert comment_texts(once) == comment_texts(source)  # every comment kept, in order


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(SPECS)))
def test_shipped_spec_type_checks_to_the_same_model(path: Path, formatted_tree: Path) -> None:
    before = load_spec(path)
    after = load_spec(formatted_tree / path.relative_to(SPECS))
    for cfg in config_names(before):
        a, b = build_model(before, cfg), build_model(after, cfg)
        for fld in ("consts", "enums", "vars", "lets", "actions", "properties", "allow_deadlock", "expects"):
            assert getattr(a, fld) == getattr(b, fld), (cfg, fld)
        assert a.config.values == b.config.values


LAYOUT_CASES = [
    # spacing, parentheses where needed, and `else if`
    (
        "var x:0..3=0\naction a when x<3{x:=x+1}\n",
        "var x : 0 .. 3 = 0\naction a when x < 3 { x := x + 1 }\n",
    ),
    (
        "var x : 0 .. 9\ninvariant i: (x + 1) * 2 > x and not (x == 3)\n",
        "var x : 0 .. 9\ninvariant i: (x + 1) * 2 > x and not (x == 3)\n",
    ),
    # a mixed and/or gets parentheses for the reader; the AST is the same
    (
        "var p : bool\nvar q : bool\ninvariant i: p and q or p\n",
        "var p : bool\nvar q : bool\ninvariant i: (p and q) or p\n",
    ),
    # runs of var align their `:`; trailing comments align; at most one blank line is kept
    (
        "var a : bool # one\nvar long_name : bool   # two\n\n\n\nvar z : bool\n",
        "var a         : bool  # one\nvar long_name : bool  # two\n\nvar z : bool\n",
    ),
    # a block written over several lines stays so; statements sharing a line keep sharing it
    (
        "var x : 0 .. 3\nvar y : bool\naction a {\n x := 1;   y := true\n  if y { x := 2 } else { x := 3 }\n}\n",
        "var x : 0 .. 3\nvar y : bool\naction a {\n  x := 1; y := true\n  if y { x := 2 } else { x := 3 }\n}\n",
    ),
    # comments: own line, trailing, on the `{` line, and before `}`
    (
        "# head\nvar x : bool  # t\naction a { # on brace\n  # lead\n  x := true # after\n  # end\n}\n",
        "# head\nvar x : bool  # t\naction a {    # on brace\n  # lead\n  x := true  # after\n  # end\n}\n",
    ),
    # `else { if ... }` is `else if`
    (
        "var x : 0 .. 3\naction a {\n  if x == 0 { x := 1 } else { if x == 1 { x := 2 } }\n}\n",
        "var x : 0 .. 3\naction a {\n  if x == 0 { x := 1 } else if x == 1 { x := 2 }\n}\n",
    ),
    # variants: replace, with new parameters, extend enum and extend action (clauses one per
    # line unless the extension was written on one line)
    (
        'extends "p.plug"\nreplace var x:0..3=1\n'
        "replace action a(i : 0 .. 3)   with new parameters when x<3 { x := i }\n"
        "extend enum E { C,D }\nextend action b when x>0 { before { x := 0 } after { # later\n  x := 1 } }\n"
        "extend action c { after { x := 2 } }\nextend action d when x == 1\n",
        'extends "p.plug"\nreplace var x : 0 .. 3 = 1\n'
        "replace action a(i : 0 .. 3) with new parameters when x < 3 { x := i }\nextend enum E { C, D }\n"
        "extend action b when x > 0 {\n  before { x := 0 }\n  after {  # later\n    x := 1\n  }\n}\n"
        "extend action c { after { x := 2 } }\nextend action d when x == 1\n",
    ),
    # `&` inside `|` (and the reverse) keeps its parentheses, for the reader
    ("var m : bitmap(2)\ninvariant i: m | (m & m) == m\n", "var m : bitmap(2)\ninvariant i: m | (m & m) == m\n"),
    # a long guard goes on its own line, the body's `{` after it
    (
        "var x : 0 .. 3\naction a(i : 0 .. 3) when " + " and ".join(["x != i"] * 14) + " { x := i }\n",
        "var x : 0 .. 3\naction a(i : 0 .. 3)\n  when " + "\n    and ".join(["x != i"] * 14) + "\n{ x := i }\n",
    ),
]


@pytest.mark.parametrize("source,expected", LAYOUT_CASES)
def test_canonical_layout(source: str, expected: str) -> None:
    assert format_source(source, "t.plug") == expected
    assert format_source(expected, "t.plug") == expected


COMMENTS_EVERYWHERE = """\
# top
protocol p "t"   # after protocol
const N = 2 # n
enum E { A, # first
  B, C, }  # after enum
type T = 0 .. N - 1
var x : 0 .. 3 = 0
var y : [T] E = A
action a(i : T, # param comment
         j : T)
  when x < 3 # guard
  and y[i] == A
{ # brace
  # lead
  x := x + 1 # t1


  if x == 1 { y[i] := B } # after if
  else if x == 2 { # c2
    y[j] := C
  } # end if2
  else {
    # only comment
  }
  for k : T { y[k] := A; x := 0 } # for
  # before close
}
config c { # cfg
  N = 2 # n2
  # tail
}
config d { N = 1; }
invariant i: x < 3 # inv
  or x == 3
action e { }
action f {
}
# end
"""

COMMENTS_EVERYWHERE_FORMATTED = """\
# top
protocol p "t"  # after protocol
const N = 2     # n
# first
enum E { A, B, C }  # after enum
type T = 0 .. N - 1
var x : 0 .. 3 = 0
var y : [T] E = A
# param comment
# guard
action a(i : T, j : T) when x < 3 and y[i] == A {  # brace
  # lead
  x := x + 1  # t1

  if x == 1 { y[i] := B }  # after if
  else if x == 2 {         # c2
    y[j] := C
  }  # end if2
  else {
    # only comment
  }
  for k : T { y[k] := A; x := 0 }  # for
  # before close
}
config c {  # cfg
  N = 2     # n2
  # tail
}
config d { N = 1 }
# inv
invariant i: x < 3 or x == 3
action e { }
action f { }
# end
"""


def test_comments_everywhere_are_kept() -> None:
    # comments inside a parameter list, a guard or an expression move before their declaration;
    # a comment after an `if` block's `}` stays there, and an empty `else` holding one is kept
    assert format_source(COMMENTS_EVERYWHERE, "t.plug") == COMMENTS_EVERYWHERE_FORMATTED
    assert format_source(COMMENTS_EVERYWHERE_FORMATTED, "t.plug") == COMMENTS_EVERYWHERE_FORMATTED
    assert sorted(comment_texts(COMMENTS_EVERYWHERE_FORMATTED)) == sorted(comment_texts(COMMENTS_EVERYWHERE))


def test_comment_inside_an_expression_moves_before_its_declaration() -> None:
    src = "var x : 0 .. 3\nlet f = x +   # why\n  1\n"
    assert format_source(src, "t.plug") == "var x : 0 .. 3\n# why\nlet f = x + 1\n"


def test_fmt_refuses_a_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.plug"
    bad.write_text("var x : bool\naction a { x := }\n")
    assert main(["fmt", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2:17: error: expected an expression after `:=`, found `}}`" in err
    assert bad.read_text() == "var x : bool\naction a { x := }\n"  # untouched


def test_fmt_refuses_a_fifo_without_blocking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe.plug"
    os.mkfifo(fifo)
    assert main(["fmt", "--check", str(fifo)]) == 2
    assert f"{fifo}: error: cannot read the spec: not a regular file" in capsys.readouterr().err


def test_fmt_check_and_rewrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "m.plug"
    f.write_text("var x:bool\n")
    assert main(["fmt", "--check", str(tmp_path)]) == 1
    assert f"{f}: not formatted" in capsys.readouterr().err
    assert f.read_text() == "var x:bool\n"
    assert main(["fmt", str(f)]) == 0
    assert f.read_text() == "var x : bool\n"
    assert main(["fmt", "--check", str(f)]) == 0


def test_shipped_specs_are_formatted() -> None:
    unformatted = [str(p) for p in SHIPPED if formatted(p) != p.read_text()]
    assert unformatted == []


# ---- properties: any expression prints to text that parses back to it; mutated specs that
# still parse format without the self-check refusing, and to a fixed point

_NAMES = st.sampled_from(["x", "y", "m"])
_LEAVES = st.one_of(
    st.builds(S.IntLit, st.integers(0, 99)), st.builds(S.BoolLit, st.booleans()), st.builds(S.Name, _NAMES)
)
_BINOPS = ["implies", "or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "subseteq"]
_BINOPS += ["|", "&", "<<", ">>", "+", "-", "*", "/", "%"]
_TYPES = st.one_of(
    st.just(S.BoolType()),
    st.builds(S.NamedType, st.just("T")),
    st.builds(S.RangeType, st.builds(S.IntLit, st.integers(0, 3)), st.builds(S.IntLit, st.integers(3, 9))),
)


def _extend(sub: st.SearchStrategy[S.Expr]) -> st.SearchStrategy[S.Expr]:
    binders = st.lists(st.builds(S.Binder, st.sampled_from(["a", "b"]), _TYPES), min_size=1, max_size=2)
    return st.one_of(
        st.builds(S.Binop, st.sampled_from(_BINOPS), sub, sub),
        st.builds(S.Unop, st.sampled_from(["not", "-", "~"]), sub),
        st.builds(S.Ite, sub, sub, sub),
        st.builds(S.Index, sub, sub),
        st.builds(S.Call, st.sampled_from(["min", "f"]), st.lists(sub, max_size=3).map(tuple)),
        st.builds(S.SetLit, st.lists(sub, max_size=3).map(tuple)),
        st.builds(S.Quant, st.sampled_from(["forall", "exists", "count", "sum"]), binders.map(tuple), sub),
    )


EXPRS = st.recursive(_LEAVES, _extend, max_leaves=12)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(EXPRS)
def test_any_expression_prints_to_text_that_parses_back(e: S.Expr) -> None:
    text = render(expr(e), 60)  # narrow: the line breaks get exercised too
    (decl,) = parse_text(f"invariant i: {text}\n", "t.plug").decls
    assert isinstance(decl, S.InvariantDecl) and decl.expr == e
    source = f"invariant i: {text}\n"
    once = format_source(source, "t.plug")
    assert format_source(once, "t.plug") == once


@settings(max_examples=25, deadline=None, derandomize=True)  # each formats a whole spec twice
@given(token_mutants())
def test_mutated_specs_that_parse_format_to_a_fixed_point(text: str) -> None:
    try:
        parse_text(text, "t.plug")
    except SpecError:
        return
    once = format_source(text, "t.plug")
    assert format_source(once, "t.plug") == once
