"""The frontier engine (numpy kernels over whole BFS chunks) gives exactly what the
single-state path gives: state and transition counts, depth, coverage, verdicts, traces,
budget stops and runtime errors, on ref-sbm, its mutants and random specs."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checker.codegen import StepError
from checker.kernels import words
from checker.native import compiler
from checker.search import Budget, explore
from checker.search.backends import CompiledBackend, KernelBackend, NativeBackend, successors_skipping
from checker.search.store import Visited
from checker.stops import StopKind
from model import SpecError, build_model, load_spec, spec_from_text
from model.typed import Model
from tests.specgen import random_spec

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "specs" / "ref_sbm.plug"
MUTANTS = sorted((ROOT / "tests" / "specs" / "mutants").glob("*.plug"))


def summary(model: Model, budget: Budget | None = None, deadlock: bool = True, kernel: str = "single") -> Any:
    res, ex = explore(model, budget or Budget(), deadlock, kernel=kernel)
    props = [(p.name, p.kind, p.status, p.trace, p.message, p.bound) for p in res.properties]
    return (res.states, res.transitions, res.depth, res.stopped, res.coverage, res.warnings, props, len(ex.states))


def assert_same(model: Model, budget: Budget | None = None, deadlock: bool = True) -> Any:
    """The numpy and the C kernels against the compiled Python: every count, verdict and trace."""
    single = summary(model, budget, deadlock, "single")
    front = summary(model, budget, deadlock, "frontier")
    assert front == single
    if compiler() is None:  # said once per run, not silently: tests/test_native.py skips with the reason
        warnings.warn("no C compiler: the C kernels are not compared here (.ci/run installs gcc)", stacklevel=2)
        return front
    try:
        native = summary(model, budget, deadlock, "native")
    except SpecError as exc:  # a bitmap of more than 128 bits: the numpy kernels run such models
        assert "a bitmap of" in str(exc)
    else:
        assert native == single
    return front


@pytest.mark.parametrize("config", ["tiny", "default", "b2s3"])
def test_ref_sbm_identical(config: str) -> None:
    got = assert_same(build_model(load_spec(REF), config))
    assert got[0] == {"tiny": 36, "default": 675, "b2s3": 7749}[config]
    assert all(p[2] == "holds" for p in got[6])


@pytest.mark.parametrize("path", MUTANTS, ids=lambda p: p.stem)
def test_mutants_identical_traces(path: Path) -> None:
    got = assert_same(build_model(load_spec(path)))
    violated = [p for p in got[6] if p[2] == "violated"]
    assert violated and all(p[3] is not None and len(p[3].steps) > 1 for p in violated)


WIDE = [ROOT / "specs" / "bugs" / f"{n}.plug" for n in ("C1", "L2", "Q1")]


@pytest.mark.parametrize("path", WIDE, ids=lambda p: p.stem)
def test_wide_states_identical(path: Path) -> None:
    # 67-68 bits: two words per state, fields straddling the word boundary
    model = build_model(load_spec(path))
    assert words(explore(model, Budget(max_states=1), kernel="frontier")[1].compiled.layout) == 2
    got = assert_same(model)
    assert any(p[2] == "violated" and p[3] is not None and len(p[3].steps) > 1 for p in got[6])


@pytest.mark.parametrize(
    "inv",
    [
        "plugged <= 2",  # violated deep in the search
        "not (mb[1] == ONLINE_PARTIAL and fo[1] != {})",
        "count(b : Block. is_online(b)) < 2 or requested > 3",
        "requested != 3",
    ],
)
def test_ref_sbm_mutated_invariants(inv: str) -> None:
    text = REF.read_text() + f"\ninvariant extra: {inv}\n"
    model = build_model(spec_from_text(text, str(REF)), "default")
    got = assert_same(model)
    extra = next(p for p in got[6] if p[0] == "extra")
    assert extra[2] == "violated"


@pytest.mark.parametrize(
    "budget",
    [Budget(max_states=1), Budget(max_states=100), Budget(max_states=675), Budget(max_states=676), Budget(max_depth=3)],
    ids=["states1", "states100", "states675", "states676", "depth3"],
)
def test_budgets_identical(budget: Budget) -> None:
    got = assert_same(build_model(load_spec(REF), "default"), budget)
    assert (got[3] is not None) == (budget.max_states != 676)


def test_budget_cut_inside_a_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    # many chunks per level: cuts fall mid-level and mid-chunk
    monkeypatch.setattr(KernelBackend, "chunk", 7)
    monkeypatch.setattr(NativeBackend, "chunk", 6)
    monkeypatch.setattr(CompiledBackend, "chunk", 5)
    model = build_model(load_spec(REF), "b2s3")
    for n in (50, 333, 4000):
        got = assert_same(model, Budget(max_states=n))
        assert got[0] >= n and got[3] is not None and got[3].kind is StopKind.STATES
    assert assert_same(model)[0] == 7749


RANGE_SPEC = """
var x : 0 .. 3
var a : [0 .. 1] 0 .. 2
var m : bitmap(2)
action inc(k : 1 .. 2) { x := x + k }
action put(i : 0 .. 1) when x > 1 { a[x - i] := x - 1 }
action bit(i : 0 .. 2) when x == 2 { m[i] := true }
action div when a[0] != 2 { x := 6 / (x - a[1]) }
invariant small: x + a[0] < 5
allow deadlock
"""


def test_runtime_errors_identical() -> None:
    got = assert_same(build_model(spec_from_text(RANGE_SPEC, "range.plug")))
    rng = next(p for p in got[6] if p[0] == "range")
    assert rng[2] == "violated" and rng[3] is not None


def test_deadlock_and_unsupported_fallback() -> None:
    text = "var x : 0 .. 3\naction up when x < 3 { x := x + 1 }\ninvariant ok: x < 3\n"
    got = assert_same(build_model(spec_from_text(text, "dead.plug")))
    assert [(p[0], p[2]) for p in got[6]][:2] == [("ok", "violated"), ("deadlock", "violated")]
    # a product that may pass 62 bits: int64 lanes cannot hold it
    big = "var x : 0 .. 3\nvar y : 0 .. 1000000000000\naction up when x < 3 and y * y >= 0 { x := x + 1 }\n"
    big += "allow deadlock\n"
    model = build_model(spec_from_text(big, "big.plug"))
    with pytest.raises(SpecError, match="frontier"):
        explore(model, kernel="frontier")
    with pytest.raises(SpecError, match="--kernel native cannot run this model: an intermediate value"):
        explore(model, kernel="native")
    assert explore(model)[0].states == 4  # auto falls back to the single-state path


@pytest.mark.parametrize("k", [1, 3])
def test_visited_set(k: int) -> None:
    v = Visited(bits=4, k=k)
    col = np.array([0, 5, (1 << 64) - 1, 1 << 63, 17, 33], dtype=np.uint64)
    xs = np.stack([col] + [col[::-1]] * (k - 1), axis=1)  # every word matters
    v.insert(xs[:4])
    assert v.contains(xs).tolist() == [True, True, True, True, False, False]
    if k > 1:
        other = xs.copy()
        other[:, k - 1] ^= np.uint64(1)  # equal low words, a different last word
        assert not v.contains(other).any()
    rng = np.random.default_rng(1)
    many = np.unique(rng.integers(0, 1 << 62, (5000, k), dtype=np.uint64), axis=0)
    v.insert(many)
    assert v.contains(many).all() and v.count == 4 + many.shape[0]
    assert not v.contains(np.array([[1] * k, [2] * k, [3] * k], dtype=np.uint64)).any()


def test_one_word_set_against_a_python_set() -> None:
    # the one-word set marks free slots with the all-ones word: that word is in the set only
    # once inserted, through every growth of the table
    rng = np.random.default_rng(3)
    v, ref = Visited(bits=4, k=1), set()
    ones = np.array([(1 << 64) - 1], dtype=np.uint64)
    for step in range(40):
        x = rng.integers(0, 60, size=int(rng.integers(1, 40)), dtype=np.uint64)
        if step % 7 == 6:
            x = np.concatenate([x, ones])
        x = np.unique(x)
        got = v.contains(x[:, None])
        assert got.tolist() == [int(a) in ref for a in x]
        new = x[~got]
        v.insert(new[:, None])
        ref |= {int(a) for a in new}
    assert v.count == len(ref) and v.contains(ones[:, None]).tolist() == [True]
    assert Visited(bits=4, k=1).contains(ones[:, None]).tolist() == [False]


@pytest.mark.parametrize("values", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_insert_at_the_probes_end_against_a_python_dict(k: int, values: bool) -> None:
    # the driver inserts new states where their look-up ended (`probe`): through every growth
    # of the table, with rows that share words and rows whose last word is all ones (which a
    # free slot holds), the set holds what a dict holds (and the map its values)
    rng = np.random.default_rng(5)
    v = Visited(bits=4, k=k, values=values)
    ref: dict[tuple[int, ...], int] = {}
    for step in range(60):
        x = rng.integers(0, {1: 400, 2: 20, 3: 6}[k], size=(int(rng.integers(1, 50)), k), dtype=np.uint64)
        if step % 9 == 8:
            x[0] = np.uint64((1 << 64) - 1)
        if step % 5 == 4:  # a last word of all ones: the row is kept aside, not in the table
            x[-1, -1] = np.uint64((1 << 64) - 1)
        x = np.unique(x, axis=0)
        if values:
            got, end = v.probe_values(x)
            assert got.tolist() == [ref.get(tuple(r), -1) for r in x.tolist()]
            found = got >= 0
        else:
            found, end = v.probe(x)
            assert found.tolist() == [tuple(r) in ref for r in x.tolist()]
        new = x[~found]
        vals = np.arange(len(ref), len(ref) + new.shape[0], dtype=np.int64)
        v.insert(new, vals if values else None, at=end[~found])
        ref.update({tuple(r): int(i) for r, i in zip(new.tolist(), vals, strict=True)})
    assert v.count == len(ref) and len(ref) > 100


@pytest.mark.parametrize("values", [False, True])
@pytest.mark.parametrize("k", [1, 2])
def test_visited_set_wraps_around_the_table_end(k: int, values: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # every row's home is one of the last four slots: probes, claims and the placement of a
    # grown table all run past the end and on from slot 0
    monkeypatch.setattr(
        Visited, "_hash", lambda self, x: (x[:, 0] % np.uint64(4)).astype(np.intp) + (1 << self.bits) - 4
    )
    v = Visited(bits=4, k=k, values=values)
    rows = np.stack([np.arange(300, dtype=np.uint64)] * k, axis=1)
    rows[:, -1] += np.uint64(7)
    for lo in range(0, 300, 37):
        x = rows[lo : lo + 37]
        found, end = v.probe(x)
        assert not found.any()
        v.insert(x, np.arange(lo, lo + x.shape[0], dtype=np.int64) if values else None, at=end)
        assert v.contains(rows[: lo + 37]).all() and not v.contains(rows[lo + 37 :]).any()
    if values:
        assert v.lookup(rows).tolist() == list(range(300))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_group_rows_exact_under_hash_collisions(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # equal rows adjacent, and each group boundary marked, also when every row hashes alike
    from checker.search import driver

    rng = np.random.default_rng(2)
    base = rng.integers(0, 1 << 63, (50, k), dtype=np.uint64)
    base[1:10, 0] = base[0, 0]  # rows equal in the first word only
    xs = base[rng.integers(0, 50, 400)]
    want = len(np.unique(xs, axis=0))
    for collide in (False, True):
        if collide:
            monkeypatch.setattr(driver, "row_hash", lambda x: np.zeros(x.shape[0], dtype=np.uint64))
        order, fresh = driver._group_rows(xs)
        sx = xs[order]
        assert sorted(order.tolist()) == list(range(400))
        assert int(fresh.sum()) + 1 == want
        assert (fresh == (sx[1:] != sx[:-1]).any(axis=1)).all()


def test_wide_search_identical_under_hash_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    # the lexsort fallback numbers the states exactly as the hash order does
    from checker.search import driver

    model = build_model(load_spec(WIDE[1]))
    plain = summary(model, kernel="frontier")
    monkeypatch.setattr(driver, "row_hash", lambda x: x[:, 0] & np.uint64(3))
    assert summary(model, kernel="frontier") == plain
    assert plain[0] > 1000


# ---- random specs (tests/specgen.py): the few the kernels refuse are skipped
@settings(max_examples=40, deadline=timedelta(seconds=10), derandomize=True, suppress_health_check=list(HealthCheck))
@given(random_spec(), st.sampled_from([None, 1, 5, 40]))
def test_random_specs_identical(text: str, max_states: int | None) -> None:
    try:
        model = build_model(spec_from_text(text, "random.plug"))
        explore(model, Budget(max_states=1), kernel="frontier")  # raises SpecError when unsupported
    except SpecError:
        assume(False)
    assert_same(model, Budget(max_states=max_states))


def reference_edges(ex: Any) -> list[list[tuple[int, int]]]:
    """Per state, (instance, successor index) in instance order, from the compiled successors."""
    out = []
    for s in ex.states:
        try:
            succ = ex.compiled.successors(s)
        except StepError as exc:
            succ = successors_skipping(ex.compiled, s, exc.iid)
        out.append([(iid, ex.index[n]) for iid, n in succ])
    return out


@pytest.mark.parametrize(
    "path,config",
    [(REF, "default"), (MUTANTS[0], None), (ROOT / "specs" / "bugs" / "C1.plug", None), (None, None)],
    ids=["ref_sbm", "mutant", "C1-two-words", "runtime-errors"],
)
def test_recorded_edges_identical(path: Path | None, config: str | None) -> None:
    model = build_model(load_spec(path), config) if path else build_model(spec_from_text(RANGE_SPEC, "range.plug"))
    got = {}
    kernels = ("single", "frontier", "native") if compiler() is not None else ("single", "frontier")
    if compiler() is None:
        warnings.warn("no C compiler: the C kernels are not compared here (.ci/run installs gcc)", stacklevel=2)
    for kernel in kernels:
        res, ex = explore(model, kernel=kernel, record_edges=True)
        e = ex.edges
        assert e is not None and (e.states, e.transitions) == (res.states, res.transitions)
        got[kernel] = [list(zip(e.out(i)[1].tolist(), e.out(i)[0].tolist(), strict=True)) for i in range(e.states)]
    assert all(got[k] == reference_edges(ex) for k in kernels)
    assert explore(model, Budget(max_states=5), kernel="frontier", record_edges=True)[1].edges is None
    assert explore(model, record_edges=False)[1].edges is None
