"""Induction never claims more than explicit search finds: on random specs (many with
invariants that initial states already break), every `proved` of `--engine induction` and
of the `symbolic` pipeline is a property the complete explicit search says holds, and every
violation it reports is one explicit search reports too."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, assume, given, settings

from checker.results import HOLDS, PROVED, VIOLATED, RunResult
from checker.search import explore
from checker.symbolic.induction import induction
from checker.symbolic.pipeline import pipeline
from checker.symbolic.unroll import SymOptions
from model import SpecError, build_model, spec_from_text
from tests.specgen import random_spec

BASE_CASE = """
protocol p
var x : 0 .. 3 = 0
action inc when x < 3 { x := x + 1 }
invariant a: x == 3
invariant b: x != 1
allow deadlock
expect violated a
"""


def _agree(text: str, explicit: RunResult, sym: RunResult) -> None:
    truth = {p.name: p for p in explicit.properties}
    for q in sym.properties:
        p = truth[q.name]
        if q.status == PROVED:
            assert p.status == HOLDS, (q.name, q.message, text)
        elif q.status == VIOLATED:
            assert p.status == VIOLATED, (q.name, q.message, text)
            if q.trace is not None and p.trace is not None and p.kind != "liveness":
                assert len(q.trace) == len(p.trace), (q.name, text)
        elif q.status == HOLDS:  # a reached `reachable` goal
            assert p.status == HOLDS, (q.name, text)


def test_a_base_case_violation_proves_nothing_else() -> None:
    model = build_model(spec_from_text(BASE_CASE, "base.plug"))
    ind = {p.name: p for p in induction(model, SymOptions()).properties}
    assert ind["a"].status == VIOLATED and ind["a"].trace is not None and len(ind["a"].trace) == 0
    assert ind["b"].status != PROVED
    pipe = {p.name: p for p in pipeline(model, SymOptions(depth=4)).properties}
    assert pipe["b"].status == VIOLATED and pipe["b"].trace is not None and len(pipe["b"].trace) == 1


@settings(max_examples=150, deadline=timedelta(seconds=30), derandomize=True, suppress_health_check=list(HealthCheck))
@given(random_spec())
def test_induction_is_sound_on_random_specs(text: str) -> None:
    try:
        model = build_model(spec_from_text(text, "random.plug"))
    except SpecError:
        assume(False)
    res, _ = explore(model)
    assert not res.stopped
    _agree(text, res, induction(model, SymOptions(timeout=20)))
