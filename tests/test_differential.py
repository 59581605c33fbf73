"""One semantics across every backend, on the shared random specs (tests/specgen.py): the
reference-semantics oracle (an independent search), the search driver on each successor
backend (reference semantics, compiled Python, numpy kernels, C kernels) and z3 BMC to a small depth
give the same state count, the same verdict per property (`range` and `deadlock` included)
and the same shortest counterexample length. A failure prints the
spec. CI runs SEEDS specs; `pytest -m slow` runs SLOW_SEEDS more."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from checker.native import compiler
from checker.results import HOLDS, INCONCLUSIVE, VIOLATED, RunResult
from checker.search import explore
from checker.symbolic.bmc import bmc
from checker.symbolic.unroll import SymOptions
from model import SpecError, build_model, spec_from_text
from model.typed import Model
from tests.oracle import oracle
from tests.specgen import generate

SEEDS = range(0, 700)  # ~500 of them are valid specs
SLOW_SEEDS = range(700, 5000)
BMC_DEPTH = 2
HAVE_CC = compiler() is not None
NATIVE_AT_LEAST = 370  # 386 of 538: the others have a bitmap over 128 bits
MAX_STATES = 3000  # specs with more reachable states are skipped (none of the seeds above)


@dataclass
class Verdicts:
    states: int
    props: dict[str, tuple[str, int | None]]  # name -> (status, shortest trace length in steps)


def explicit(model: Model, kernel: str) -> Verdicts:
    res, _ = explore(model, kernel=kernel)
    assert not res.stopped
    return summarise(res)


def summarise(res: RunResult) -> Verdicts:
    return Verdicts(
        res.states,
        {p.name: (p.status, len(p.trace.steps) - 1 if p.trace is not None else None) for p in res.properties},
    )


def from_oracle(model: Model, names: list[str]) -> Verdicts:
    ref = oracle(model)
    props: dict[str, tuple[str, int | None]] = {}
    for p in model.properties:
        if p.kind == "reachable":
            props[p.name] = (HOLDS, ref.reached[p.name]) if p.name in ref.reached else (VIOLATED, None)
        elif p.name in ref.violated:
            props[p.name] = (VIOLATED, ref.violated[p.name])
        else:
            props[p.name] = (HOLDS, None)
    if "deadlock" in names:
        props["deadlock"] = (VIOLATED, ref.deadlock) if ref.deadlock is not None else (HOLDS, None)
    props["range"] = (VIOLATED, ref.range_error) if ref.range_error is not None else (HOLDS, None)
    return Verdicts(ref.states, props)


def bounded(v: Verdicts, depth: int) -> dict[str, tuple[str, int | None]]:
    """What BMC to `depth` must say, given the complete search's verdicts: a trace of at most
    `depth` steps is found with the same length (a runtime error: in the step from a state at
    `depth`, one more); everything else stays open."""
    out = {}
    for n, (s, k) in v.props.items():
        reach = depth + 1 if n == "range" else depth
        out[n] = (s, k) if k is not None and k <= reach else (INCONCLUSIVE, None)
    return out


def same(got: tuple[object, ...], want: tuple[object, ...], where: str) -> None:
    assert got[1:] == want[1:], f"{where}\n{got[0]}: {got[1:]}\n{want[0]}: {want[1:]}"


def check_seed(seed: int) -> str:
    """Compare every backend on one generated spec; returns which backends ran."""
    text = generate(seed)
    try:
        model = build_model(spec_from_text(text, f"random{seed}.plug"))
    except SpecError:
        return "invalid"
    where = f"seed {seed}, spec:\n{text}"
    single = explicit(model, "single")
    assert single.states <= MAX_STATES, where
    ref = from_oracle(model, list(single.props))
    same(("oracle", ref.states, ref.props), ("single", single.states, single.props), where)
    reference = explicit(model, "reference")  # the driver on the reference-semantics backend
    same(("reference", reference.states, reference.props), ("single", single.states, single.props), where)
    ran = "oracle reference single"
    try:
        front = explicit(model, "frontier")
    except SpecError:  # the kernels do not cover this model
        front = None
    if front is not None:
        same(("frontier", front.states, front.props), ("single", single.states, single.props), where)
        ran += " frontier"
        try:
            native = explicit(model, "native") if HAVE_CC else None
        except SpecError:  # a bitmap wider than the C kernels' 128 bits
            native = None
        if native is not None:
            same(("native", native.states, native.props), ("single", single.states, single.props), where)
            ran += " native"
    sym = summarise(bmc(model, SymOptions(depth=BMC_DEPTH)))
    same(("bmc", sym.props), ("single, bounded", bounded(single, BMC_DEPTH)), where)
    return ran + " bmc"


def run_seeds(seeds: range) -> dict[str, int]:
    counts: dict[str, int] = {}
    for seed in seeds:
        ran = check_seed(seed)
        counts[ran] = counts.get(ran, 0) + 1
    return counts


@pytest.fixture(scope="module")
def corpus() -> dict[str, int]:
    """The CI seeds through every backend, once for the tests below."""
    return run_seeds(SEEDS)


def test_every_backend_agrees_on_random_specs(corpus: dict[str, int]) -> None:
    compared = sum(n for k, n in corpus.items() if k != "invalid")
    assert compared >= 500, corpus
    # the frontier kernels ran on (nearly) all of them: 538 of 538 measured, wide bitmaps included
    assert sum(n for k, n in corpus.items() if " frontier" in k) >= 520, corpus


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler (gcc or cc): .ci/run installs gcc")
def test_the_c_kernels_agree_on_random_specs(corpus: dict[str, int]) -> None:
    # the C kernels ran beside the others on the specs without a bitmap over 128 bits
    assert corpus.get("oracle reference single frontier native bmc", 0) >= NATIVE_AT_LEAST, corpus


@pytest.mark.slow
def test_every_backend_agrees_on_many_random_specs() -> None:
    counts = run_seeds(SLOW_SEEDS)
    assert sum(n for k, n in counts.items() if k != "invalid") >= 3000, counts
