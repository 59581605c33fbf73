"""Initial states from `= any`: enumerated lazily in canonical order, de-duplicated by hashing,
and within the state and time budgets on both search paths."""

from __future__ import annotations

import time

import pytest

from checker.search import Budget, explore
from checker.stops import Stop, StopKind
from model import build_model, spec_from_text
from model.ground import ground

HUGE = """protocol huge
var x : 0 .. 1000000000 = any
action down when x > 0 { x := x - 1 }
allow deadlock
"""

MIXED = """protocol mixed
enum E { A, B, C }
var x : 0 .. 2 = any
var y : bool = true
var e : E = any
var a : [0 .. 1] bool = any
action flip { y := not y }
"""


@pytest.mark.parametrize("kernel", ["single", "frontier"])
def test_state_budget_stops_the_enumeration(kernel: str) -> None:
    t0 = time.perf_counter()
    res, _ = explore(build_model(spec_from_text(HUGE, "huge.plug")), Budget(max_states=1000), kernel=kernel)
    assert (res.states, res.transitions, str(res.stopped)) == (1000, 0, "state budget 1000 reached")
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("kernel", ["single", "frontier"])
def test_time_budget_stops_the_enumeration(kernel: str) -> None:
    t0 = time.perf_counter()
    res, _ = explore(build_model(spec_from_text(HUGE, "huge.plug")), Budget(timeout=0.3), kernel=kernel)
    assert res.stopped == Stop(StopKind.TIME, 0.3) and 0 < res.states < 10**9
    assert time.perf_counter() - t0 < 10
    assert all(p.status == "inconclusive" for p in res.properties)


def test_canonical_order_first_variable_slowest() -> None:
    gm = ground(build_model(spec_from_text(MIXED, "mixed.plug")))
    got = [(s[("x", ())], s[("e", ())], s[("a", (0,))], s[("a", (1,))]) for s in gm.initial_states()]
    assert len(got) == len(set(got)) == 3 * 3 * 4
    assert got[:3] == [(0, 0, False, False), (0, 0, False, True), (0, 0, True, False)]
    assert got[-1] == (2, 2, True, True)
    for kernel in ("single", "frontier"):
        res, ex = explore(build_model(spec_from_text(MIXED, "mixed.plug")), kernel=kernel)
        assert res.states == 72 and list(ex.parent)[:36] == [-1] * 36
