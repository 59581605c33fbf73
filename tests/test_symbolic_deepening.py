"""The symbolic pipeline finishes what it starts: BMC after induction deepens until it finds a
violation or reaches its stated cap, k-induction deepens until the step case holds, and
Spacer states its budget and reports progress while it works."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.cli import main
from checker.results import INCONCLUSIVE, PROVED, VIOLATED
from checker.search import Progress
from checker.symbolic import pipeline as pipeline_mod
from checker.symbolic import spacer as spacer_mod
from checker.symbolic.kind import kind
from checker.symbolic.pipeline import pipeline
from checker.symbolic.unroll import SymOptions
from model import build_model, spec_from_text

DEEP = """
protocol deep
var x : 0 .. 15 = 0
var y : 0 .. 15 = 0
action inc when x < 15 { x := x + 1 }
action mirror { y := x }
invariant low: y != 7 or x > 9
"""

SLOW = """
protocol slow
var x : 0 .. 15 = 0
action inc when x < 12 { x := x + 1 }
action reset { x := 0 }
invariant bounded: x <= 12
"""

# x cycles 0, 1, 2, 3, 0: the unreachable 4 leads to 5 but has no predecessor, so `not5` is
# not 1-inductive (4 -> 5) and is proved by 2-induction
CYCLE = """
protocol cycle
var x : 0 .. 7 = 0
action tick { x := if x == 3 then 0 else (x + 1) % 8 }
invariant not5: x != 5
"""


def test_a_violation_eight_steps_deep_is_found_by_the_pipeline(tmp_path: Path) -> None:
    res = pipeline(build_model(spec_from_text(DEEP, "deep.plug")), SymOptions())
    low = next(p for p in res.properties if p.name == "low")
    assert low.status == VIOLATED and low.trace is not None and len(low.trace) == 8
    assert low.trace.steps[-1].action == "mirror" and low.trace.steps[-1].state["y"] == 7
    f = tmp_path / "deep.plug"
    f.write_text(DEEP)
    assert main(["check", str(f), "--engine", "symbolic", "-q", "--jobs", "1"]) == 1


def test_the_pipeline_states_the_depth_it_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline_mod, "PIPELINE_DEPTH_CAP", 5)
    res = pipeline(build_model(spec_from_text(DEEP, "deep.plug")), SymOptions())
    low = next(p for p in res.properties if p.name == "low")
    assert low.status == INCONCLUSIVE and low.bound == 5
    assert "no violation up to depth 5" in low.message
    res = pipeline(build_model(spec_from_text(DEEP, "deep.plug")), SymOptions(depth=3))
    assert next(p for p in res.properties if p.name == "low").bound == 3


def test_k_induction_deepens_until_the_step_case_holds() -> None:
    res = kind(build_model(spec_from_text(CYCLE, "cycle.plug")), SymOptions())
    not5 = next(p for p in res.properties if p.name == "not5")
    assert not5.status == PROVED and not5.message == "proved by 2-induction"
    assert res.depth == 2  # it stopped deepening once proved
    deep = kind(build_model(spec_from_text(DEEP, "deep.plug")), SymOptions())
    low = next(p for p in deep.properties if p.name == "low")
    assert low.status == VIOLATED and low.trace is not None and len(low.trace) == 8


def test_spacer_states_its_budget_and_reports_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spacer_mod, "HEARTBEAT", 0.001)
    notes: list[str] = []

    def seen(p: Progress) -> None:
        notes.append(p.note)

    res = spacer_mod.spacer(build_model(spec_from_text(SLOW, "slow.plug")), SymOptions(progress=seen))
    assert next(p for p in res.properties if p.name == "bounded").status == PROVED
    assert "spacer: `bounded` (1 of 3), budget 120 s" in notes
    monkeypatch.setattr(spacer_mod, "SPACER_DEFAULT_SECONDS", 1e-9)
    res = spacer_mod.spacer(build_model(spec_from_text(SLOW, "slow.plug")), SymOptions())
    assert str(res.stopped) == "time budget 1e-09 s reached (Spacer's budget)"
    assert {p.status for p in res.properties} == {INCONCLUSIVE}
