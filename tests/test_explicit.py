"""The explicit engine: state counts, verdicts, shortest traces and budgets, on small specs
whose answers are known by construction and against the reference-semantics oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.results import HOLDS, INCONCLUSIVE, VIOLATED, RunResult
from checker.search import Budget, explore
from model import build_model, load_spec, spec_from_text

from .oracle import oracle

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tests" / "specs" / "mutants"


def run(src: str, config: str | None = None, budget: Budget | None = None, deadlock: bool = True) -> RunResult:
    res, _ = explore(build_model(spec_from_text(src, "t.plug"), config), budget, deadlock)
    return res


def prop(res: RunResult, name: str):  # noqa: ANN201 - PropertyResult
    return next(p for p in res.properties if p.name == name)


COUNTER = """
const N = 5
var x : 0 .. N = 0
action inc when x < N { x := x + 1 }
"""


def test_counter_counts_states_and_finds_the_deadlock_at_the_end() -> None:
    res = run(COUNTER)
    assert (res.states, res.transitions, res.depth) == (6, 5, 5)
    dead = prop(res, "deadlock")
    assert dead.status == VIOLATED
    assert dead.trace is not None and len(dead.trace) == 5
    assert [s.state["x"] for s in dead.trace.steps] == [0, 1, 2, 3, 4, 5]
    assert [s.action for s in dead.trace.steps] == [None] + ["inc"] * 5
    assert res.verdict == "fail"


def test_deadlock_can_be_switched_off_in_the_spec_or_the_run() -> None:
    assert prop(run(COUNTER, deadlock=True), "deadlock").status == VIOLATED
    assert all(p.name != "deadlock" for p in run(COUNTER, deadlock=False).properties)
    assert all(p.name != "deadlock" for p in run(COUNTER + "allow deadlock\n").properties)
    assert run(COUNTER + "allow deadlock\n").verdict == "pass"


def test_product_of_independent_counters() -> None:
    src = """
    var a : 0 .. 3
    var b : 0 .. 4
    action ia when a < 3 { a := a + 1 }
    action ib when b < 4 { b := b + 1 }
    action reset { a := 0; b := 0 }
    """
    res = run(src)
    assert res.states == 4 * 5
    assert res.depth == 7
    assert prop(res, "deadlock").status == HOLDS


def test_shortest_violation_and_parameter_names_in_the_trace() -> None:
    src = """
    type Idx = 0 .. 3
    var m : bitmap(4) = {}
    action set(i : Idx) when not m[i] { m[i] := true }
    invariant few: popcount(m) < 3
    allow deadlock
    """
    res = run(src)
    assert res.states == 16
    few = prop(res, "few")
    assert few.status == VIOLATED and few.trace is not None
    assert len(few.trace) == 3
    # breadth-first and deterministic: instances in declaration order, lowest arguments first
    assert [s.label for s in few.trace.steps] == ["initial state", "set(i=0)", "set(i=1)", "set(i=2)"]
    assert few.trace.steps[-1].state == {"m": [0, 1, 2]}
    assert few.span is not None and few.span.line == 5


def test_reachable_is_a_witness() -> None:
    src = COUNTER + "reachable top: x == N\nreachable never: x > N - 10 and x < 0\nallow deadlock\n"
    res = run(src)
    top, never = prop(res, "top"), prop(res, "never")
    assert top.status == HOLDS and top.trace is not None and len(top.trace) == 5
    assert never.status == VIOLATED and never.trace is None
    assert res.verdict == "fail"


def test_assignment_out_of_range_is_a_range_violation_with_a_trace() -> None:
    src = """
    var x : 0 .. 3 = 0
    action inc { x := x + 1 }
    allow deadlock
    """
    res = run(src)
    r = prop(res, "range")
    assert r.status == VIOLATED and r.trace is not None
    assert len(r.trace) == 4
    assert r.trace.steps[-1].state == {"x": 4}
    assert "`x` := 4 is out of its range 0..3" in r.message
    assert res.states == 4


def test_dynamic_index_out_of_range_is_a_range_violation() -> None:
    src = """
    var i : 0 .. 3 = 0
    var a : [0 .. 2] bool
    action step when i < 3 { i := i + 1 }
    action poke { a[i] := true }
    allow deadlock
    """
    res = run(src)
    r = prop(res, "range")
    assert r.status == VIOLATED and r.trace is not None
    assert [s.label for s in r.trace.steps][-1] == "poke"
    assert r.trace.steps[-2].state["i"] == 3
    assert oracle(build_model(spec_from_text(src, "t.plug"))).range_error == len(r.trace)


def test_any_gives_several_initial_states() -> None:
    src = """
    enum Color { RED, GREEN, BLUE }
    var c : Color = any
    var b : bool = any
    action stay { c := c }
    """
    res = run(src)
    assert res.states == 6
    assert res.depth == 0


def test_unused_action_is_a_warning() -> None:
    res = run(COUNTER + "action never when x > N { x := 0 }\nallow deadlock\n")
    assert any("`never` never fires" in w for w in res.warnings)
    cov = {c.action: c for c in res.coverage}
    assert cov["inc"].fired == 1 and cov["inc"].transitions == 5 and cov["inc"].enabled_states == 5
    assert cov["never"].fired == 0


@pytest.mark.parametrize(
    "budget,why",
    [
        (Budget(max_states=100), "state budget 100"),
        (Budget(max_depth=3), "depth budget 3"),
        (Budget(timeout=1e-9), "time budget"),
    ],
)
def test_budgets_end_inconclusive(budget: Budget, why: str) -> None:
    src = """
    var x : 0 .. 1000
    var y : 0 .. 1000
    action ix when x < 1000 { x := x + 1 }
    action iy when y < 1000 { y := y + 1 }
    invariant ok: x + y >= 0
    """
    res = run(src, budget=budget)
    assert why in str(res.stopped)
    assert res.verdict == "inconclusive"
    ok = prop(res, "ok")
    assert ok.status == INCONCLUSIVE and ok.bound is not None
    assert res.states > 0


def test_same_spec_same_trace() -> None:
    src = """
    type B = 0 .. 2
    var m : [B] bitmap(3)
    action set(b : B, s : 0 .. 2) when not m[b][s] { m[b][s] := true }
    action clear(b : B) { m[b] := {} }
    invariant sparse: count(b : B. m[b] == lowbits(3)) < 2
    """
    a = prop(run(src), "sparse").trace
    b = prop(run(src), "sparse").trace
    assert a is not None and b is not None
    assert a.to_json() == b.to_json() and len(a) == 6


REF_COUNTS = {"tiny": 36, "default": 675, "b2s3": 7749, "b2s4": 80919, "b2s4l2": 82944, "b3s3": 389610}


@pytest.mark.parametrize("config", ["tiny", "default", "b2s3", "b2s4", "b2s4l2", "b3s3"])
def test_ref_sbm_matches_the_spin_reference_counts(config: str) -> None:
    res, _ = explore(build_model(load_spec(ROOT / "specs" / "ref_sbm.plug"), config))
    assert res.states == REF_COUNTS[config]
    assert res.verdict == "pass"
    assert {p.name: p.status for p in res.properties} == {
        "no_online_unplugged": HOLDS,
        "bounded_offline": HOLDS,
        "fake_offline_owned": HOLDS,
        "state_matches_bitmap": HOLDS,
        "all_plugged": HOLDS,
        "deadlock": HOLDS,
        "range": HOLDS,
    }


@pytest.mark.parametrize("config", ["tiny", "default"])
def test_ref_sbm_agrees_with_the_oracle(config: str) -> None:
    model = build_model(load_spec(ROOT / "specs" / "ref_sbm.plug"), config)
    assert explore(model)[0].states == oracle(model).states


# each mutant breaks one invariant of ref_sbm: (mutant, config, invariant, shortest trace length);
# the smallest config that shows the bug keeps the oracle fast
MUTANT_CASES = [
    ("online_all_to_buddy", "tiny", "no_online_unplugged", 3),
    ("no_offline_limit", "default", "bounded_offline", 3),
    ("fake_offline_keeps_buddy", "tiny", "fake_offline_owned", 5),
    ("unplug_online_full_state", "tiny", "state_matches_bitmap", 6),
]


@pytest.mark.parametrize("name,config,invariant,length", MUTANT_CASES)
def test_mutants_of_ref_sbm_break_their_invariant(name: str, config: str, invariant: str, length: int) -> None:
    model = build_model(load_spec(MUTANTS / f"{name}.plug"), config)
    res, _ = explore(model)
    p = prop(res, invariant)
    assert p.status == VIOLATED and p.trace is not None
    assert len(p.trace) == length
    assert p.expected == "violated" and p.passed is True
    # every invariant's verdict and shortest length agree with the reference-semantics oracle
    ref = oracle(model)
    assert ref.states == res.states
    found = {q.name: len(q.trace) for q in res.properties if q.kind == "invariant" and q.trace is not None}
    assert found == ref.violated


def test_constant_index_past_the_end_is_a_range_violation() -> None:
    src = """
    var a : [0 .. 1] bool
    action w(i : 0 .. 2) { a[i] := true }
    action r(i : 0 .. 2) when a[i] { a[0] := false }
    allow deadlock
    """
    res = run(src)
    r = prop(res, "range")
    assert r.status == VIOLATED and r.trace is not None and len(r.trace) == 1
    assert r.message == "w(i=2): index 2 of `a` is out of 0..1"
    model = build_model(spec_from_text(src, "t.plug"))
    ref = oracle(model)
    assert (ref.states, ref.range_error) == (res.states, 1)
