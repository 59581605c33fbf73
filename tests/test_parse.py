"""Spec text to AST: every construct parses to the syntax tree a reader expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from model import syntax as S
from model.errors import SpecError
from model.parse import parse_text
from model.spec_files import parse_file

LANG = Path(__file__).parent / "specs" / "lang"


def decls(text: str) -> tuple[S.Decl, ...]:
    return parse_text(text, "t.plug").decls


def one(text: str) -> S.Decl:
    (d,) = decls(text)
    return d


def expr(text: str) -> S.Expr:
    d = one(f"invariant i: {text}")
    assert isinstance(d, S.InvariantDecl)
    return d.expr


def n(x: str) -> S.Name:
    return S.Name(x)


def i(v: int) -> S.IntLit:
    return S.IntLit(v)


def test_protocol_const_enum_type() -> None:
    assert decls('protocol ref_sbm "Sub Block Mode"\nconst B = 3\nenum Mb { A, B2, }\ntype Block = 0 .. B-1') == (
        S.ProtocolDecl("ref_sbm", "Sub Block Mode"),
        S.ConstDecl("B", i(3)),
        S.EnumDecl("Mb", ("A", "B2")),
        S.TypeDecl("Block", S.RangeType(i(0), S.Binop("-", n("B"), i(1)))),
    )
    assert one("protocol p") == S.ProtocolDecl("p", "")


def test_var_forms() -> None:
    assert one("var x : 0 .. 5 = 2") == S.VarDecl("x", S.RangeType(i(0), i(5)), i(2), False)
    assert one("var f : bool") == S.VarDecl("f", S.BoolType(), None, False)
    assert one("var c : Mb = any") == S.VarDecl("c", S.NamedType("Mb"), None, True)
    assert one("var d : [Block] [Mb] bitmap(S) = {}") == S.VarDecl(
        "d",
        S.ArrayType(S.NamedType("Block"), S.ArrayType(S.NamedType("Mb"), S.BitmapType(n("S")))),
        S.SetLit(()),
        False,
    )


def test_let_with_and_without_params() -> None:
    assert one("let full = lowbits(S)") == S.LetDecl("full", (), S.Call("lowbits", (n("S"),)))
    assert one("let f(b : Block, s : 0 .. 1) = m[b][s]") == S.LetDecl(
        "f",
        (S.Param("b", S.NamedType("Block")), S.Param("s", S.RangeType(i(0), i(1)))),
        S.Index(S.Index(n("m"), n("b")), n("s")),
    )


def test_action_params_guard_and_every_statement() -> None:
    d = one(
        """strong fair action a(b : Block) when x > 0 {
             x := 1; m[b] := true
             g[b][2] := 3
             let k = x + 1
             if k == 1 { x := 0 } else if k == 2 { x := 1 } else { x := 2 }
             for s : 0 .. 3 { m[s] := false }
           }"""
    )
    assert isinstance(d, S.ActionDecl)
    assert (d.name, d.fairness) == ("a", "strong")
    assert d.params == (S.Param("b", S.NamedType("Block")),)
    assert d.guard == S.Binop(">", n("x"), i(0))
    assert d.body == (
        S.Assign("x", (), i(1)),
        S.Assign("m", (n("b"),), S.BoolLit(True)),
        S.Assign("g", (n("b"), i(2)), i(3)),
        S.LocalLet("k", S.Binop("+", n("x"), i(1))),
        S.If(
            S.Binop("==", n("k"), i(1)),
            (S.Assign("x", (), i(0)),),
            (S.If(S.Binop("==", n("k"), i(2)), (S.Assign("x", (), i(1)),), (S.Assign("x", (), i(2)),)),),
        ),
        S.For("s", S.RangeType(i(0), i(3)), (S.Assign("m", (n("s"),), S.BoolLit(False)),)),
    )


@pytest.mark.parametrize(
    "text,fairness",
    [("action a { }", ""), ("fair action a { }", "weak"), ("strong fair action a { }", "strong")],
)
def test_fairness(text: str, fairness: str) -> None:
    d = one(text)
    assert isinstance(d, S.ActionDecl)
    assert d.fairness == fairness and d.params == () and d.guard is None and d.body == ()


@pytest.mark.parametrize(
    "text,kind,goal",
    [
        ("always x", "always", None),
        ("eventually x", "eventually", None),
        ("always eventually x", "always_eventually", None),
        ("eventually always x", "eventually_always", None),
        ("x leadsto y", "leadsto", n("y")),
    ],
)
def test_temporal_properties(text: str, kind: str, goal: S.Expr | None) -> None:
    assert one(f"property p: {text}") == S.PropertyDecl("p", kind, n("x"), goal)


def test_invariant_reachable_allow_expect() -> None:
    assert decls("invariant i: x\nreachable r: y\nallow deadlock\nexpect violated i") == (
        S.InvariantDecl("i", n("x")),
        S.ReachableDecl("r", n("y")),
        S.AllowDecl("deadlock"),
        S.ExpectDecl("violated", "i"),
    )


def test_config_with_modifiers() -> None:
    d = one("config linux symbolic benchmark { B = 8; S = 2*32 }")
    assert isinstance(d, S.ConfigDecl)
    assert d.name == "linux" and d.modifiers == ("symbolic", "benchmark")
    assert d.settings == (S.Setting("B", i(8)), S.Setting("S", S.Binop("*", i(2), i(32))))
    assert [(sp.line, sp.column) for sp in d.modifier_spans] == [(1, 14), (1, 23)]
    plain = one("config c { B = 1 S = 2 }")  # `;` between settings is optional
    assert isinstance(plain, S.ConfigDecl) and plain.modifiers == () and len(plain.settings) == 2


def test_extends_and_replace() -> None:
    assert decls('extends "p.plug"\nreplace const L = 2\nreplace let t = 1\nreplace action a { x := 0 }') == (
        S.ExtendsDecl("p.plug"),
        S.ReplaceDecl(S.ConstDecl("L", i(2))),
        S.ReplaceDecl(S.LetDecl("t", (), i(1))),
        S.ReplaceDecl(S.ActionDecl("a", (), None, (S.Assign("x", (), i(0)),), "")),
    )


def test_precedence() -> None:
    # & and | bind tighter than comparisons; and binds tighter than or; implies is loosest
    assert expr("a & b == c") == S.Binop("==", S.Binop("&", n("a"), n("b")), n("c"))
    assert expr("a or b and c") == S.Binop("or", n("a"), S.Binop("and", n("b"), n("c")))
    assert expr("a implies b implies c") == S.Binop("implies", n("a"), S.Binop("implies", n("b"), n("c")))
    assert expr("not a == b") == S.Unop("not", S.Binop("==", n("a"), n("b")))
    assert expr("1 + 2 * 3 << 1") == S.Binop("<<", S.Binop("+", i(1), S.Binop("*", i(2), i(3))), i(1))
    assert expr("a - b - c") == S.Binop("-", S.Binop("-", n("a"), n("b")), n("c"))
    assert expr("-x[1]") == S.Unop("-", S.Index(n("x"), i(1)))
    assert expr("~a | b") == S.Binop("|", S.Unop("~", n("a")), n("b"))


def test_expression_forms() -> None:
    assert expr("x in {A, B}") == S.Binop("in", n("x"), S.SetLit((n("A"), n("B"))))
    assert expr("a subseteq b") == S.Binop("subseteq", n("a"), n("b"))
    assert expr("if c then 1 else 2") == S.Ite(n("c"), i(1), i(2))
    assert expr("min(a, b, 3)") == S.Call("min", (n("a"), n("b"), i(3)))
    assert expr("f()") == S.Call("f", ())
    assert expr("forall b : Block, s : 0 .. 1. m[b][s]") == S.Quant(
        "forall",
        (S.Binder("b", S.NamedType("Block")), S.Binder("s", S.RangeType(i(0), i(1)))),
        S.Index(S.Index(n("m"), n("b")), n("s")),
    )
    assert expr("exists b : bool. b") == S.Quant("exists", (S.Binder("b", S.BoolType()),), n("b"))
    assert expr("count(b : B. x) + sum(b : B. 1) > 0") == S.Binop(
        ">",
        S.Binop(
            "+",
            S.Quant("count", (S.Binder("b", S.NamedType("B")),), n("x")),
            S.Quant("sum", (S.Binder("b", S.NamedType("B")),), i(1)),
        ),
        i(0),
    )
    assert expr("true and false") == S.Binop("and", S.BoolLit(True), S.BoolLit(False))


def test_spans_are_one_based_line_and_column() -> None:
    d = decls("# a comment\nconst N = 3\n\n  var x : 0 .. N = 1")[1]
    assert isinstance(d, S.VarDecl)
    assert (d.span.file, d.span.line, d.span.column) == ("t.plug", 4, 3)
    assert d.init is not None and (d.init.span.line, d.init.span.column) == (4, 20)


def test_comments_and_whitespace_only_spec_is_an_error() -> None:
    with pytest.raises(SpecError) as ei:
        parse_text("# nothing here\n\n", "e.plug")
    assert "the spec is empty" in ei.value.message
    assert (ei.value.span.line, ei.value.span.column) == (1, 1)


def test_parse_file_reads_fixture() -> None:
    f = parse_file(LANG / "constructs.plug")
    kinds = {type(d).__name__ for d in f.decls}
    assert kinds == {
        "ProtocolDecl", "ConstDecl", "EnumDecl", "TypeDecl", "VarDecl", "LetDecl", "ActionDecl",
        "InvariantDecl", "PropertyDecl", "ReachableDecl", "AllowDecl", "ExpectDecl", "ConfigDecl",
    }  # fmt: skip
    assert f.path.endswith("constructs.plug") and f.source.startswith("# every construct")
