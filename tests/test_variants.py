"""The language for variants: `extend action` adds a guard conjunct or statements without
restating the action (so a variant follows its parent's changes), `extend enum` adds
members, `replace` takes vars, invariants, properties and reachables too, and a replaced
action changes its parameters only when it says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.search import explore
from model import SpecError, build_model, load_spec

PARENT = """protocol parent
enum E { A, B }
var x : 0 .. 5 = 0
var e : E = A
action inc(i : 0 .. 1) when x < 3 { x := x + 1 }
action flip when x > 0 { e := B }
invariant small: x <= 5
reachable flipped: e == B
allow deadlock
"""


def _write(tmp: Path, **files: str) -> None:
    for name, text in files.items():
        (tmp / f"{name}.plug").write_text(text)


def _states(tmp: Path, name: str) -> int:
    res, _ = explore(build_model(load_spec(tmp / f"{name}.plug")))
    return res.states


def _error(tmp: Path, name: str) -> SpecError:
    with pytest.raises(SpecError) as exc:
        build_model(load_spec(tmp / f"{name}.plug"))
    return exc.value


def test_extend_action_adds_a_conjunct_and_statements_and_follows_the_parent(tmp_path: Path) -> None:
    child = """extends "parent.plug"
extend enum E { C }
extend action inc when x < 2
extend action flip when e == A and x > 1 { before { x := x + 1 } after { e := C } }
"""
    _write(tmp_path, parent=PARENT, child=child)
    res, ex = explore(build_model(load_spec(tmp_path / "child.plug")))
    # x counts to 2 (the added conjunct); flip then adds one more and ends in C
    values = {(s.state["x"], s.state["e"]) for s in (ex.trace(i).steps[-1] for i in range(res.states))}
    assert values == {(0, "A"), (1, "A"), (2, "A"), (3, "C")}
    # the parent changes: the variant follows without being edited
    _write(tmp_path, parent=PARENT.replace("when x < 3 { x := x + 1 }", "when x < 3 { x := x + 2 }"))
    res2, ex2 = explore(build_model(load_spec(tmp_path / "child.plug")))
    values2 = {(s.state["x"], s.state["e"]) for s in (ex2.trace(i).steps[-1] for i in range(res2.states))}
    assert values2 == {(0, "A"), (2, "A"), (3, "C")}


def test_replace_takes_vars_invariants_properties_and_reachables(tmp_path: Path) -> None:
    child = """extends "parent.plug"
replace var x : 0 .. 5 = 2
replace invariant small: x <= 2
replace reachable flipped: e == A
expect violated small
"""
    _write(tmp_path, parent=PARENT, child=child)
    model = build_model(load_spec(tmp_path / "child.plug"))
    res, _ = explore(model)
    got = {p.name: p for p in res.properties}
    assert got["small"].status == "violated" and got["small"].trace is not None and len(got["small"].trace) == 1
    assert got["flipped"].status == "holds" and got["flipped"].trace is not None and len(got["flipped"].trace) == 0


def test_a_changed_parameter_list_needs_the_marker(tmp_path: Path) -> None:
    _write(
        tmp_path,
        parent=PARENT,
        silent='extends "parent.plug"\nreplace action inc when x < 3 { x := x + 1 }\n',
        marked='extends "parent.plug"\nreplace action inc(j : 0 .. 2) with new parameters when x < 3 { x := x + j }\n',
        needless='extends "parent.plug"\nreplace action inc(i : 0 .. 1) with new parameters when x < 3 { x := 1 }\n',
        outside="protocol p\nvar x : bool\naction a(i : 0 .. 1) with new parameters { x := true }\n",
    )
    e = _error(tmp_path, "silent")
    assert (e.span.line, e.span.column) == (2, 9)
    assert "takes (), but the action it replaces takes (i : 0 .. 1)" in e.message
    assert "with new parameters" in e.message and e.notes[0][1] is not None and e.notes[0][1].line == 5
    assert _states(tmp_path, "marked") == 9  # x in 0..4, e in {A, B} once x > 0
    assert "keeps the parameters" in _error(tmp_path, "needless").message
    assert "belongs to a `replace action`" in _error(tmp_path, "outside").message


@pytest.mark.parametrize(
    "text,line,col,words",
    [
        ('extends "parent.plug"\nreplace enum E { C }\n', 2, 9, "`replace` takes an action, let, const, var"),
        ('extends "parent.plug"\nextend enum E { C, A }\n', 2, 20, "`A` is already a member"),
        ('extends "parent.plug"\nextend action nope when true\n', 2, 1, "parent.plug has no action named `nope`"),
        (
            "protocol p\nvar x : bool\nextend action a when x\n",
            3,
            1,
            "`extend` needs a spec to extend in: add `extends",
        ),
        ('extends "parent.plug"\nreplace invariant nope: true\n', 2, 9, "has no invariant named `nope`"),
    ],
)
def test_variant_errors_point_at_the_declaration(tmp_path: Path, text: str, line: int, col: int, words: str) -> None:
    _write(tmp_path, parent=PARENT, child=text)
    e = _error(tmp_path, "child")
    assert (e.span.line, e.span.column) == (line, col), e.render()
    assert words in e.message
