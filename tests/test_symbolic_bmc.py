"""BMC agrees with the explicit engine: the same verdicts and the same shortest violation
lengths on ref-sbm small configs, its mutants, mutated invariants and runtime errors; its
traces have the explicit engine's Step / JSON shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.results import HOLDS, INCONCLUSIVE, VIOLATED, RunResult
from checker.search import Budget, explore
from checker.symbolic.bmc import bmc
from checker.symbolic.unroll import SymOptions
from model import build_model, load_spec, spec_from_text
from model.typed import Model

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "specs" / "ref_sbm.plug"
MUTANTS = sorted((ROOT / "tests" / "specs" / "mutants").glob("*.plug"))


def agree(model: Model, depth: int | None = None) -> tuple[RunResult, RunResult]:
    """Explicit (complete, or to `depth`) and BMC to the explored depth give the same
    violations with the same lengths; what explicit shows holds, BMC leaves inconclusive."""
    ex, _ = explore(model, Budget(max_depth=depth))
    sym = bmc(model, SymOptions(depth=ex.depth if depth is None else depth))
    got = {p.name: p for p in sym.properties}
    for p in ex.properties:
        if p.kind == "liveness":
            continue
        q = got[p.name]
        assert q.kind == p.kind
        if p.status == VIOLATED and p.trace is not None or (p.kind == "reachable" and p.status == HOLDS):
            assert (q.status, len(q.trace)) == (p.status, len(p.trace)), p.name  # type: ignore[arg-type]
            assert q.trace.steps[0].state == p.trace.steps[0].state  # type: ignore[union-attr]
        else:
            assert q.status == INCONCLUSIVE, (p.name, p.status, q.status, q.message)
            assert q.bound == sym.depth
    return ex, sym


@pytest.mark.parametrize("config", ["tiny", "default", "b2s3"])
def test_ref_sbm_small_configs(config: str) -> None:
    ex, sym = agree(build_model(load_spec(REF), config), depth=5)
    assert [p.status for p in sym.properties if p.kind == "invariant"] == [INCONCLUSIVE] * 4


@pytest.mark.parametrize("path", MUTANTS, ids=[p.stem for p in MUTANTS])
def test_mutants(path: Path) -> None:
    ex, sym = agree(build_model(load_spec(path), "default"), depth=7)
    assert any(p.status == VIOLATED for p in sym.properties)


@pytest.mark.parametrize(
    "inv",
    ["plugged <= 2", "not (mb[1] == ONLINE_PARTIAL and fo[1] != {})", "requested != 3", "popcount(buddy[0]) < 2"],
)
def test_ref_sbm_mutated_invariants(inv: str) -> None:
    text = REF.read_text() + f"\ninvariant extra: {inv}\n"
    ex, sym = agree(build_model(spec_from_text(text, str(REF)), "default"), depth=5)
    extra = next(p for p in sym.properties if p.name == "extra")
    assert extra.status == VIOLATED and extra.message == "invariant `extra` is violated"


RANGE_SPEC = """
var x : 0 .. 3
var a : [0 .. 1] 0 .. 2
var m : bitmap(3)
action up when x < 3 { x := x + 1 }
action put(i : 0 .. 1) when x > 1 { a[x - i] := x - 1 }
action bit(i : 0 .. 2) when x == 2 { m[i] := true }
action div when a[0] != 2 { x := 6 / (x - a[1]) }
invariant small: x + a[0] < 5
allow deadlock
"""


def test_runtime_errors_are_range_violations() -> None:
    ex, sym = agree(build_model(spec_from_text(RANGE_SPEC, "range.plug")))
    rng = next(p for p in sym.properties if p.name == "range")
    assert rng.status == VIOLATED and rng.trace is not None
    assert "out of" in rng.message or "division by zero" in rng.message
    assert rng.trace.steps[-1].action in ("put", "div")


def test_deadlock_and_trace_json() -> None:
    text = "var x : 0 .. 3\naction up when x < 3 { x := x + 1 }\ninvariant ok: x < 3\n"
    ex, sym = agree(build_model(spec_from_text(text, "dead.plug")))
    by = {p.name: p for p in sym.properties}
    assert (by["ok"].status, by["deadlock"].status) == (VIOLATED, VIOLATED)
    assert by["ok"].trace.to_json()["steps"] == [  # type: ignore[union-attr]
        {"action": None, "args": {}, "state": {"x": 0}},
        {"action": "up", "args": {}, "state": {"x": 1}},
        {"action": "up", "args": {}, "state": {"x": 2}},
        {"action": "up", "args": {}, "state": {"x": 3}},
    ]
    assert by["ok"].trace.to_json()["loop"] is None  # type: ignore[union-attr]
    assert sym.to_json()["properties"][0]["status"] == "violated"


def test_no_violation_is_inconclusive_with_bound() -> None:
    notes: list[str] = []
    sym = bmc(build_model(load_spec(REF), "tiny"), SymOptions(depth=3, progress=lambda p: notes.append(p.note)))
    assert [n.split(",")[0] for n in notes] == ["bmc: depth 1 of 3", "bmc: depth 2 of 3", "bmc: depth 3 of 3"]
    inv = sym.properties[0]
    assert inv.to_json()["status"] == "inconclusive" and inv.to_json()["bound"] == 3


def test_division_by_powers_of_two_rounds_like_python() -> None:
    # the encoder turns `/ 2**k` and `% 2**k` into shifts and masks: floor semantics on negatives
    text = """
var x : -9 .. 9 = 0
action down when x > -9 { x := x - 1 }
invariant split: x / 4 * 4 + x % 4 == x and x % 8 >= 0 and x % 8 < 8
invariant not_minus_two: x / 4 != -2
invariant mod_eight: x % 8 != 1 or x >= 0
"""
    ex, sym = agree(build_model(spec_from_text(text, "div.plug")))
    by = {p.name: p for p in sym.properties}
    assert by["split"].status == INCONCLUSIVE
    assert by["not_minus_two"].status == VIOLATED and len(by["not_minus_two"].trace) == 5  # type: ignore[arg-type]
    assert by["mod_eight"].status == VIOLATED and len(by["mod_eight"].trace) == 7  # type: ignore[arg-type]
