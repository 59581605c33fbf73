"""Bad specs: every error is a SpecError at the exact line and column, in the user's terms,
and the CLI prints `file:line:col`, the line with a caret, and exits 2 without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checker.cli import main
from model import build_model, load_spec, spec_from_text
from model.errors import SpecError
from model.ground import ground

# nine lines every in-text case is appended to (so errors are reported from line 10 on)
BASE = """protocol p
const N = 3
enum Mb { UNUSED, ONLINE }
type Block = 0 .. N-1
var mb : [Block] Mb = UNUSED
var x : 0 .. 5 = 0
var m : bitmap(4) = {}
var flag : bool
let is_used(b : Block) = mb[b] != UNUSED
"""

# (case, text after BASE, line, column, the message)
CASES = [
    ("assign_missing_expr", "action a { x := }", 10, 17, "expected an expression after `:=`, found `}`"),
    ("assign_with_eq", "action a { x = 1 }", 10, 14, "expected `:=` or `[` after `x`, found `=`"),
    ("bad_char", "invariant i: x $ 1", 10, 16, "unexpected character `$`"),
    # a missing `}` is reported at the `{` it fails to close, not where the parser gave up
    ("unclosed_block", "action a { x := 1", 10, 10, "this `{` is never closed: add a `}` before the end of the file"),
    ("var_missing_colon", "var y 0 .. 3", 10, 7, "expected `:` after `y`, found `0`"),
    ("invariant_missing_name", "invariant : x == 0", 10, 11, "expected a name after `invariant`, found `:`"),
    ("unterminated_string", 'protocol q "abc', 10, 12, 'unterminated string: close it with `"` on the same line'),
    ("const_missing_name", "const = 3", 10, 7, "expected a name after `const`, found `=`"),
    (
        "binop_missing_operand",
        "invariant i: x == ",
        10,
        19,
        "expected an expression after `==`, found the end of the file",
    ),
    ("undefined_did_you_mean", "action a { mb[0] := UNUSD }", 10, 21, "`UNUSD` is not defined; did you mean `UNUSED`?"),
    ("unknown_type", "var y : Blok", 10, 9, "unknown type `Blok`; did you mean `Block`?"),
    ("assign_undefined", "action a { flg := true }", 10, 12, "`flg` is not defined; did you mean `flag`?"),
    ("unknown_function", "invariant i: popcnt(m) == 0", 10, 14, "unknown function `popcnt`; did you mean `popcount`?"),
    ("assign_to_const", "action a { N := 1 }", 10, 12, "cannot assign to `N`: it is a const, not a variable"),
    ("duplicate_var", "var x : bool", 10, 1, "`x` is already defined"),
    ("duplicate_member", "var ONLINE : bool", 10, 1, "`ONLINE` is already defined"),
    ("duplicate_param", "action a(b : Block, b : Block) { }", 10, 21, "parameter `b` appears twice"),
    ("redefine_builtin", "let min = 1", 10, 1, "`min` is a built-in function and cannot be redefined"),
    ("duplicate_config", "config c { N = 1 }\nconfig c { N = 2 }", 11, 1, "config `c` is already defined"),
    (
        "config_named_default",
        "config default { N = 1 }",
        10,
        1,
        "`default` names the file's own constants; choose another config name",
    ),
    ("assign_type_mismatch", "action a { x := true }", 10, 17, "type mismatch: `x` is 0..5, but the value is bool"),
    ("invariant_not_bool", "invariant i: x", 10, 14, "expected a condition (bool), but this is 0..5"),
    ("compare_enum_int", "invariant i: x > UNUSED", 10, 18, "the right operand of `>` must be an integer, not Mb"),
    ("popcount_of_int", "invariant i: popcount(x) > 0", 10, 23, "`popcount` takes a bitmap, not 0..5"),
    ("bitmap_op_on_int", "invariant i: m & x == {}", 10, 18, "`&` combines bitmaps; this is 0..5"),
    ("lowest_of_int", "invariant i: lowest(x) > 0", 10, 21, "`lowest` takes a bitmap, not 0..5"),
    ("highest_two_args", "invariant i: highest(m, m) > 0", 10, 14, "`highest` takes 1 argument, got 2"),
    (
        "untyped_complement",
        "let r = lowbits(2) & ~lowbits(1)",
        10,
        22,
        (
            "cannot tell the width of this `~`; combine it with a typed bitmap (`m & ~x`)"
            " or declare the let's type (`let r : bitmap(N) = ...`)"
        ),
    ),
    (
        "let_declared_wrong_width",
        "let r : bitmap(3) = m",
        10,
        21,
        "type mismatch: the result of `r` is bitmap(3), but the value is bitmap(4)",
    ),
    ("let_declared_range", "let r : 0 .. 3 = x", 10, 18, "`r` is declared 0..3, but its value may be anywhere in 0..5"),
    (
        "whole_array_assign",
        "action a { mb := 1 }",
        10,
        18,
        "type mismatch: `mb` is [0..2] Mb, but the value is the number 1",
    ),
    (
        "ite_branches",
        "let v = if flag then 1 else ONLINE",
        10,
        9,
        "type mismatch: the two branches of `if` are 1..1 and Mb",
    ),
    (
        "param_not_index_type",
        "action a(s : bitmap(2)) { }",
        10,
        14,
        "parameter `s` must range over a range, an enum or bool, not bitmap(2)",
    ),
    ("empty_range", "var y : 5 .. 2", 10, 9, "empty range 5..2: the lower bound is above the upper"),
    ("bitmap_zero", "var y : bitmap(0)", 10, 9, "bitmap width 0 is out of 1..4096"),
    ("index_out_of_range", "action a { mb[3] := ONLINE }", 10, 15, "`mb` is indexed by 0..2; index 3 is out of 0..2"),
    ("bit_out_of_range", "action a { m[4] := true }", 10, 14, "`m` is bitmap(4); bit 4 is out of 0..3"),
    ("bit_test_in_out_of_range", "action a { flag := 4 in m }", 10, 20, "`m` is bitmap(4); bit 4 is out of 0..3"),
    ("bit_test_in_negative", "invariant i: (0 - 1) in m", 10, 15, "`m` is bitmap(4); bit -1 is out of 0..3"),
    ("bit_index_negative", "invariant i: m[x - 9]", 10, 16, "`m` is bitmap(4); bit -9..-4 is out of 0..3"),
    ("init_out_of_range", "var z : 0 .. 3 = 7", 10, 18, "7 is out of `z`'s range 0..3"),
    ("assign_out_of_range", "action a { x := 6 }", 10, 17, "6 is out of `x`'s range 0..5"),
    ("const_div_zero", "const K = N / (N - 3)", 10, 11, "`/` by zero"),
    (
        "number_too_large",
        "const K = 99999999999999999999999",
        10,
        11,
        "the number 99999999999999999999999 is too large (at most 4611686018427387903)",
    ),
    (
        "array_too_large",
        "var big : [0 .. 100000] [0 .. 100000] bool",
        10,
        11,
        "the array type [0..100000] [0..100000] bool has 10,000,200,001 elements; at most 1,048,576 are supported",
    ),
    ("let_arity", "invariant i: is_used(1, 2)", 10, 14, "`is_used` takes 1 argument, got 2"),
    ("min_arity", "invariant i: min(x) == 0", 10, 14, "`min` takes at least 2 arguments, got 1"),
    ("let_without_args", "invariant i: is_used", 10, 14, "`is_used` takes 1 argument: write `is_used(...)`"),
    ("index_a_scalar", "action a { x[1] := 0 }", 10, 14, "`x` is 0..5, not an array or a bitmap; it takes no index"),
    ("config_unknown_const", "config c { M = 1 }", 10, 12, "config `c` sets `M`, which is not a constant"),
    (
        "config_bad_modifier",
        "config c benchmrk { N = 1 }",
        10,
        10,
        "unknown config modifier `benchmrk`; did you mean `benchmark`? expected explicit, symbolic or benchmark",
    ),
    ("config_sets_twice", "config c { N = 1; N = 2 }", 10, 19, "config `c` sets `N` twice"),
    (
        "expect_unknown_property",
        "invariant safe: x >= 0\nexpect violated sfe",
        11,
        1,
        "`expect violated sfe`: no property `sfe`; did you mean `safe`?",
    ),
    ("allow_unknown", "allow overflow", 10, 1, "`allow overflow`: only `allow deadlock` is known"),
    (
        "expect_bad_verdict",
        "invariant safe: x >= 0\nexpect broken safe",
        11,
        1,
        "`expect broken`: expected `violated` or `holds`",
    ),
    (
        "init_not_constant",
        "var y : 0 .. 5 = x",
        10,
        18,
        "the initial value of `y` must be a constant expression, but `x` is a variable",
    ),
    ("local_let_hides_var", "action a { let x = 1 }", 10, 12, "`let x` hides the var `x`"),
    (
        "too_many_instances",
        "action a(i : 0 .. 9999, j : 0 .. 9999) { }",
        10,
        1,
        "action `a` with 100,000,000 instances makes the model too large to unroll (more than 2,000,000 terms);"
        " use smaller constants or types",
    ),
    (
        "for_over_bitmap",
        "action a { for i : bitmap(2) { } }",
        10,
        20,
        "loop variable `i` must range over a range, an enum or bool, not bitmap(2)",
    ),
    ("in_wrong_type", "invariant i: x in {UNUSED}", 10, 20, "type mismatch: `in` compares 0..5 with Mb"),
    ("range_bound_var", "var y : 0 .. x", 10, 14, "a range bound must be a constant expression, but `x` is a variable"),
    # habits from other languages, each with its hint
    ("eq_to_compare", "invariant i: x = 1", 10, 16, "`=` is not a comparison: write `==`"),
    ("eq_in_guard", "action a when x = 1 { }", 10, 17, "`=` is not a comparison: write `==`"),
    ("eq_in_if", "action a { if flag = true { x := 1 } }", 10, 20, "`=` is not a comparison: write `==`"),
    (
        "double_ampersand",
        "invariant i: flag && x > 0",
        10,
        19,
        "`&&` is not an operator: write `and` (`&` is bitmap intersection)",
    ),
    ("double_bar", "invariant i: flag || x > 0", 10, 19, "`||` is not an operator: write `or` (`|` is bitmap union)"),
    ("bang", "invariant i: !flag", 10, 14, "`!` is not an operator: write `not` (`!=` is not-equal)"),
    (
        "unclosed_before_next_decl",
        "action a {\n  x := 1\n\naction b { x := 2 }",
        10,
        10,
        "this `{` is never closed: add a `}` before `action`",
    ),
    (
        "unclosed_before_extend",
        "action a {\n  x := 1\nextend action b { }",
        10,
        10,
        "this `{` is never closed: add a `}` before `extend`",
    ),
    (
        "unclosed_inner_config",
        "config c { N = 1\ninvariant i: x >= 0",
        10,
        10,
        "this `{` is never closed: add a `}` before `invariant`",
    ),
]


def front_end(text: str, path: str = "bad.plug") -> None:
    ground(build_model(spec_from_text(text, path)))


@pytest.mark.parametrize("case,text,line,col,message", CASES, ids=[c[0] for c in CASES])
def test_bad_spec_position_and_message(case: str, text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(SpecError) as ei:
        front_end(BASE + text + "\n")
    err = ei.value
    assert (err.span.file, err.span.line, err.span.column) == ("bad.plug", line, col)
    assert err.message == message
    # the rendered error names the place and shows the line with a caret under the column
    rendered = err.render().splitlines()
    assert rendered[0] == f"bad.plug:{line}:{col}: error: {message}"
    src_line = (BASE + text).splitlines()[line - 1]
    assert rendered[1].endswith(src_line)
    gutter = len(rendered[1]) - len(src_line)
    assert rendered[2][gutter + col - 1] == "^" and rendered[2][: gutter + col - 1].strip() == ""


def test_there_are_at_least_thirty_distinct_cases() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 30
    assert len({c[1] for c in CASES}) == len(CASES)


def test_unclosed_brace_notes_where_the_parser_stopped() -> None:
    with pytest.raises(SpecError) as ei:
        front_end(BASE + "action a {\n  x := 1\n\naction b { x := 2 }\n")
    assert ei.value.notes and ei.value.notes[0][0] == "the parser reached `action` here"
    note_span = ei.value.notes[0][1]
    assert note_span is not None and (note_span.line, note_span.column) == (13, 1)


def test_double_ampersand_underlines_both_characters() -> None:
    with pytest.raises(SpecError) as ei:
        front_end(BASE + "invariant i: flag && x > 0\n")
    assert ei.value.render().splitlines()[2].strip() == "^^"


def test_duplicate_points_at_the_first_definition() -> None:
    with pytest.raises(SpecError) as ei:
        front_end(BASE + "var x : bool\n")
    assert ei.value.notes and ei.value.notes[0][0] == "the var `x` is defined here"
    note_span = ei.value.notes[0][1]
    assert note_span is not None and (note_span.line, note_span.column) == (6, 1)
    assert "bad.plug:6:1: note: the var `x` is defined here" in ei.value.render()


def test_unknown_config_name() -> None:
    spec = spec_from_text(BASE + "config small { N = 1 }\n", "bad.plug")
    with pytest.raises(SpecError) as ei:
        build_model(spec, "smal")
    assert ei.value.message == "no config `smal` in bad.plug; did you mean `small`? (configs: default, small)"
    assert ei.value.span.line == 0  # not a place in the file: the command line named it


def test_unknown_define() -> None:
    spec = spec_from_text(BASE, "bad.plug")
    with pytest.raises(SpecError) as ei:
        build_model(spec, None, {"NN": 2})
    assert ei.value.message == "-D NN=2: `NN` is not a constant of bad.plug; did you mean `N`?"
    assert ei.value.render().startswith("bad.plug: error: -D NN=2")


def test_out_of_range_constant_from_a_config() -> None:
    # the config makes `Block` empty: the error is at the range, naming the values
    spec = spec_from_text(BASE + "config zero { N = 0 }\n", "bad.plug")
    with pytest.raises(SpecError) as ei:
        build_model(spec, "zero")
    assert (ei.value.span.line, ei.value.span.column) == (4, 14)
    assert ei.value.message == "empty range 0..-1: the lower bound is above the upper"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


def test_replace_of_a_missing_action_names_both_files(tmp_path: Path) -> None:
    write(tmp_path, "parent.plug", "var x : bool\naction flip { x := not x }\n")
    child = write(tmp_path, "child.plug", 'extends "parent.plug"\nreplace action flop { x := true }\n')
    with pytest.raises(SpecError) as ei:
        load_spec(child)
    err = ei.value
    assert (err.span.file, err.span.line, err.span.column) == (str(child), 2, 9)
    assert err.message == f"`replace action flop`: {tmp_path / 'parent.plug'} has no action named `flop`"


def test_replace_let_with_other_arity(tmp_path: Path) -> None:
    write(tmp_path, "parent.plug", "var x : bool\nlet f(b : bool) = b\n")
    child = write(tmp_path, "child.plug", 'extends "parent.plug"\nreplace let f = true\n')
    with pytest.raises(SpecError) as ei:
        load_spec(child)
    assert (ei.value.span.line, ei.value.span.column) == (2, 9)
    assert ei.value.message == "`replace let f` takes 0 parameters, but the let it replaces takes 1"


def test_replace_must_say_what_happens_to_fairness(tmp_path: Path) -> None:
    write(tmp_path, "parent.plug", "var x : bool\nstrong fair action flip { x := not x }\n")
    child = write(tmp_path, "child.plug", 'extends "parent.plug"\nreplace action flip { x := true }\n')
    with pytest.raises(SpecError) as ei:
        load_spec(child)
    err = ei.value
    assert (err.span.file, err.span.line, err.span.column) == (str(child), 2, 9)
    assert err.message == (
        "`replace action flip` says no fairness, but the action it replaces is `strong fair`:"
        " write `replace strong fair action flip` to keep it or `replace unfair action flip` to drop it"
    )
    assert str(tmp_path / "parent.plug") in err.render()  # the note points at the original
    for word, fairness in (("strong fair", "strong"), ("fair", "weak"), ("unfair", "")):
        child.write_text(f'extends "parent.plug"\nreplace {word} action flip {{ x := true }}\n')
        (act,) = build_model(load_spec(child)).actions
        assert act.fairness == fairness


def test_extends_cycle(tmp_path: Path) -> None:
    a = write(tmp_path, "a.plug", 'extends "b.plug"\nvar x : bool\n')
    write(tmp_path, "b.plug", 'extends "a.plug"\nvar y : bool\n')
    with pytest.raises(SpecError) as ei:
        load_spec(a)
    err = ei.value
    assert (err.span.file, err.span.line, err.span.column) == (str(tmp_path / "b.plug"), 1, 1)
    assert err.message == "`extends` makes a cycle through a.plug"


def test_extends_missing_file(tmp_path: Path) -> None:
    a = write(tmp_path, "a.plug", 'var x : bool\nextends "nope.plug"\n')
    with pytest.raises(SpecError) as ei:
        load_spec(a)
    assert (ei.value.span.line, ei.value.span.column) == (2, 1)
    assert ei.value.message == "the spec to extend does not exist: nope.plug"


def test_replace_without_extends() -> None:
    with pytest.raises(SpecError) as ei:
        spec_from_text(BASE + "replace const N = 2\n", "bad.plug")
    assert (ei.value.span.line, ei.value.span.column) == (10, 1)
    assert "`replace` needs a spec to replace in" in ei.value.message


def test_binary_junk(tmp_path: Path) -> None:
    p = write(tmp_path, "junk.plug", b"protocol p\nvar x : bool\n\x00\x01\x02 junk")
    with pytest.raises(SpecError) as ei:
        load_spec(p)
    assert (ei.value.span.line, ei.value.span.column) == (3, 1)
    assert ei.value.message == "unexpected character '\\x00'"


def test_not_utf8(tmp_path: Path) -> None:
    p = write(tmp_path, "latin1.plug", "protocol p\nvar caf\xe9 : bool\n".encode("latin-1"))
    with pytest.raises(SpecError) as ei:
        load_spec(p)
    assert (ei.value.span.line, ei.value.span.column) == (2, 8)
    assert ei.value.message == "the spec is not UTF-8 text (is it a binary file?)"


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    p = write(tmp_path, "empty.plug", "")
    with pytest.raises(SpecError) as ei:
        load_spec(p)
    assert (ei.value.span.line, ei.value.span.column) == (1, 1)
    assert ei.value.message.startswith("the spec is empty: it has no declarations")


def test_spec_without_variables() -> None:
    with pytest.raises(SpecError) as ei:
        build_model(spec_from_text("protocol p\nconst N = 1\n", "novars.plug"))
    assert (ei.value.span.line, ei.value.span.column) == (1, 1)
    assert ei.value.message == "the spec declares no variables, so there is no state to check; add a `var`"


# ---- the command line


@pytest.mark.parametrize("case,text,line,col,message", [CASES[0], CASES[10], CASES[30], CASES[42]])
def test_cli_check_exits_2_with_location_and_caret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, text: str, line: int, col: int, message: str
) -> None:
    p = write(tmp_path, "bad.plug", BASE + text + "\n")
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"{p}:{line}:{col}: error: {message}" in err
    assert "^" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "name,data,where",
    [
        ("empty.plug", b"", ":1:1: error: the spec is empty"),
        ("junk.plug", bytes(range(256)), ":2:118: error: the spec is not UTF-8 text"),  # byte 0x80
        ("nul.plug", b"var x : bool\n\x00", ":2:1: error: unexpected character"),
    ],
    ids=["empty", "bytes", "nul"],
)
def test_cli_junk_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, where: str
) -> None:
    p = write(tmp_path, name, data)
    assert main(["check", str(p)]) == 2
    assert main(["parse", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"{p}{where}" in err and "Traceback" not in err


def test_cli_unknown_define_and_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write(tmp_path, "ok.plug", BASE + "action a { flag := true }\n")
    assert main(["check", str(p), "-D", "NN=2"]) == 2
    assert "`NN` is not a constant" in capsys.readouterr().err
    assert main(["parse", str(p), "--config", "nope"]) == 2
    assert "no config `nope`" in capsys.readouterr().err


def test_cli_subprocess_bad_spec(tmp_path: Path) -> None:
    p = write(tmp_path, "bad.plug", BASE + "action a { mb[0] := UNUSD }\n")
    proc = subprocess.run(
        [sys.executable, "-m", "checker.cli", "check", str(p)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert f"{p}:10:21: error: `UNUSD` is not defined; did you mean `UNUSED`?" in proc.stderr
    assert "  10 | action a { mb[0] := UNUSD }" in proc.stderr
    assert "^^^^^" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
