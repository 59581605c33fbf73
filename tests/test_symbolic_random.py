"""Random small specs, generated as text through the front end: explicit search, BMC to
the explored diameter, and Spacer (where it answers quickly) agree on every safety verdict
and on shortest violation lengths."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, assume, given, settings

from checker.results import HOLDS, INCONCLUSIVE, PROVED, VIOLATED
from checker.search import explore
from checker.symbolic.bmc import bmc
from checker.symbolic.spacer import spacer
from checker.symbolic.unroll import SymOptions
from model import SpecError, build_model, spec_from_text
from tests.specgen import random_spec


@settings(max_examples=12, deadline=timedelta(seconds=30), derandomize=True, suppress_health_check=list(HealthCheck))
@given(random_spec())
def test_explicit_bmc_spacer_agree(text: str) -> None:
    try:
        model = build_model(spec_from_text(text, "random.plug"))
    except SpecError:
        assume(False)
    ex, _ = explore(model)
    assert not ex.stopped
    sym = bmc(model, SymOptions(depth=ex.depth))
    got = {p.name: p for p in sym.properties}
    for p in ex.properties:
        if p.kind == "liveness":
            continue
        q = got[p.name]
        if p.trace is not None and p.status in (VIOLATED, HOLDS):
            assert (q.status, len(q.trace)) == (p.status, len(p.trace)), (p.name, text)  # type: ignore[arg-type]
        else:
            assert q.status == INCONCLUSIVE, (p.name, q.message, text)
    sp = spacer(model, SymOptions(depth=ex.depth, timeout=0.5))
    for p, q in zip([p for p in ex.properties if p.kind != "liveness"], sp.properties, strict=False):
        assert p.name == q.name
        if q.status == INCONCLUSIVE:
            continue
        if q.status == PROVED:
            assert p.status == HOLDS, (p.name, text)
        elif p.kind == "reachable":
            assert q.status == p.status, (p.name, text)
        else:
            assert q.status == VIOLATED and p.status == VIOLATED, (p.name, text)
