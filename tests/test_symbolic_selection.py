"""`--property` and `--kind`: what a check decides, the note an engine gives about what it
leaves out, and exit codes that cover exactly what was asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.cli import main

SPEC = """
protocol sel
var x : 0 .. 15
action step when x < 10 { x := x + 2 }
fair action reset { x := 0 }
invariant bounded: x <= 11
invariant even: x % 2 == 0
reachable ten: x == 10
property back: x == 10 leadsto x == 0
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    f = tmp_path / "sel.plug"
    f.write_text(SPEC)
    return f


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, str], str]:
    """Exit code, {property: status} from the JSON document, and stderr."""
    code = main(["check", *args, "--json", "--jobs", "1"])
    out, err = capsys.readouterr()
    doc = json.loads(out) if out.strip() else {"results": []}
    props = {p["name"]: p["status"] for r in doc["results"] for p in r["properties"]}
    return code, props, err


def test_induction_leaves_out_what_it_cannot_decide_and_says_so_once(
    spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, props, err = run(capsys, str(spec), "--engine", "induction")
    assert code == 0
    assert props == {"bounded": "proved", "even": "proved", "deadlock": "proved", "range": "proved"}
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1
    assert "liveness and reachable properties left out (ten, back)" in notes[0]


def test_what_is_asked_explicitly_is_reported_and_counts(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, props, err = run(capsys, str(spec), "--engine", "induction", "--kind", "reachable,invariant")
    assert code == 3  # induction shows no witness: asked for, so the run is inconclusive
    assert props == {"bounded": "proved", "even": "proved", "ten": "inconclusive"}
    assert "note:" not in err
    code, props, _ = run(capsys, str(spec), "--engine", "induction", "--property", "back")
    assert (code, props) == (3, {"back": "inconclusive"})


def test_globs_and_kinds_select_for_the_explicit_engine(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, props, _ = run(capsys, str(spec), "--property", "b*")
    assert (code, props) == (0, {"bounded": "holds", "back": "holds"})
    code, props, _ = run(capsys, str(spec), "--kind", "invariant,deadlock")
    assert (code, props) == (0, {"bounded": "holds", "even": "holds", "deadlock": "holds"})
    code, props, _ = run(capsys, str(spec), "--property", "even", "--property", "ten", "--kind", "reachable")
    assert (code, props) == (0, {"ten": "holds"})


def test_a_violation_outside_the_selection_does_not_count(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec.write_text(SPEC + "invariant small: x < 6\n")
    code, props, _ = run(capsys, str(spec), "--property", "small")
    assert (code, props) == (1, {"small": "violated"})
    code, props, _ = run(capsys, str(spec), "--property", "bounded", "--property", "even")
    assert (code, props) == (0, {"bounded": "holds", "even": "holds"})


def test_unknown_names_and_kinds_are_errors(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, props, err = run(capsys, str(spec), "--property", "nosuch*")
    assert code == 2 and props == {}
    assert "no property matches `nosuch*`" in err
    assert "properties: bounded, even, ten, deadlock, range, back" in err
    with pytest.raises(SystemExit) as exc:
        main(["check", str(spec), "--kind", "invariant,safety"])
    assert exc.value.code == 2
    assert "unknown kind safety" in capsys.readouterr().err
