"""Liveness under fairness: verdicts and lasso shapes on small specs with known answers,
ref_sbm with and without fair driver actions, agreement with a brute-force search of all
lassos on random small specs, and the same verdicts and lassos as the state-at-a-time
networkx implementation (tests/liveness_oracle.py) on every shipped spec and on random ones.
The two largest shipped specs take ~5 s each idle: the oracle's networkx graph is the cost,
and they are the only comparison at tens of thousands of states."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from checker.results import HOLDS, INCONCLUSIVE, VIOLATED, PropertyResult, RunResult
from checker.search import Budget, explore
from model import build_model, load_spec
from model.ground import evaluate, execute, ground

SPECS = Path(__file__).parent / "specs" / "liveness"


def run(path: Path | str, budget: Budget | None = None, config: str | None = None, **kw: Any) -> RunResult:
    model = build_model(load_spec(Path(path)), config, {})
    res, _ = explore(model, budget, **kw)
    return res


def prop(res: RunResult, name: str) -> PropertyResult:
    return next(p for p in res.properties if p.name == name)


def actions(p: PropertyResult) -> list[str | None]:
    assert p.trace is not None
    return [s.action for s in p.trace.steps]


def test_fair_counter_reaches_its_goal() -> None:
    res = run(SPECS / "counter.plug")
    for name in ("done", "again", "settles", "reacts"):
        assert prop(res, name).kind == "liveness"
        assert prop(res, name).status == HOLDS, name


def test_unfair_counter_toggles_forever() -> None:
    res = run(SPECS / "counter_unfair.plug")
    done = prop(res, "done")
    assert done.status == VIOLATED and done.trace is not None
    assert actions(done) == [None, "toggle", "toggle"]  # the initial state, then a 2-step cycle
    assert done.trace.loop == 0
    assert done.trace.steps[-1].state == done.trace.steps[0].state
    reacts = prop(res, "reacts")  # x == 1 leadsto x == 2: inc once, then toggle forever
    assert reacts.trace is not None and reacts.trace.loop == 1
    assert actions(reacts) == [None, "inc", "toggle", "toggle"]
    assert prop(res, "settles").status == VIOLATED
    assert prop(res, "again").status == HOLDS  # at x == 3 only toggle is enabled


def test_weak_fairness_is_not_enough_for_an_intermittent_action() -> None:
    weak = prop(run(SPECS / "weak_strong.plug"), "finished")
    assert weak.status == VIOLATED and weak.trace is not None
    assert actions(weak) == [None, "toggle", "toggle"] and weak.trace.loop == 0
    assert prop(run(SPECS / "weak_strong_sf.plug"), "finished").status == HOLDS


def test_deadlock_stutters_and_violates_eventually() -> None:
    p = prop(run(SPECS / "deadlock.plug"), "reaches3")
    assert p.status == VIOLATED and p.trace is not None
    assert [s.state["x"] for s in p.trace.steps] == [0, 1, 2]
    assert p.trace.loop == 2  # the last state repeats forever
    assert p.to_json()["trace"]["loop"] == 2 and len(p.to_json()["trace"]["steps"]) == 3


def test_ref_sbm_leadsto_fails_without_fairness_with_a_resize_loop() -> None:
    res = run(SPECS / "ref_sbm_live.plug")
    p = prop(res, "offline_gets_onlined")
    assert p.status == VIOLATED and p.passed  # the spec expects the violation
    assert p.trace is not None
    # host asks for memory, the driver plugs a block (offline), then the host resizes forever
    assert actions(p) == [None, "resize", "plug_new", "resize"]
    assert p.trace.loop == 2
    assert p.trace.steps[2].state["mb"][0] in ("OFFLINE", "OFFLINE_PARTIAL")
    assert p.trace.steps[3].state == p.trace.steps[2].state  # resize to the same size: a self-loop


@pytest.mark.parametrize("kernel", ["single", "frontier"])
def test_ref_sbm_leadsto_holds_with_fair_driver_actions(kernel: str) -> None:
    res = run(SPECS / "ref_sbm_live_fair.plug", kernel=kernel)
    assert res.states == 675
    assert prop(res, "offline_gets_onlined").status == HOLDS
    assert res.verdict == "pass"


def test_always_is_checked_as_an_invariant(tmp_path: Path) -> None:
    f = tmp_path / "a.plug"
    f.write_text(
        "protocol a\nvar x : 0 .. 3 = 0\naction inc when x < 3 { x := x + 1 }\n"
        "property small: always x < 2\nallow deadlock\n"
    )
    p = prop(run(f), "small")
    assert p.kind == "invariant" and p.status == VIOLATED
    assert p.trace is not None and [s.state["x"] for s in p.trace.steps] == [0, 1, 2]


def test_warnings_for_vacuous_leadsto_and_never_enabled_fair_action(tmp_path: Path) -> None:
    f = tmp_path / "w.plug"
    f.write_text(
        "protocol w\nvar x : 0 .. 3 = 0\nfair action inc when x < 3 { x := x + 1 }\n"
        "fair action never when x > 5 { x := 0 }\n"
        "property p: x == 7 - 4 + 5 leadsto x == 0\nallow deadlock\n"
    )
    res = run(f)
    assert prop(res, "p").status == HOLDS
    assert any("`p` holds vacuously" in w for w in res.warnings)
    assert any("`fair action never` is never enabled" in w for w in res.warnings)
    assert not any("inc" in w for w in res.warnings)


def test_graph_limit_and_stopped_search_are_inconclusive() -> None:
    p = prop(run(SPECS / "counter.plug", Budget(max_graph_states=5)), "done")
    assert p.status == INCONCLUSIVE and "above the limit of 5" in p.message and "--max-graph-states" in p.message
    p = prop(run(SPECS / "counter.plug", Budget(max_depth=2)), "done")
    assert p.status == INCONCLUSIVE and "liveness needs every reachable state" in p.message


# ---- agreement with a brute-force enumeration of lassos
GUARDS = ["true", "x == 0", "x != 2", "y", "not y", "x < 2 and not y", "x == 2 or y", "false"]
BODIES = ["x := (x + 1) % 3", "x := 0", "y := not y", "x := 2\n  y := true", "y := false", "x := (x + 2) % 3"]
PREDS = ["x == 2", "y", "x == 0 and not y", "x != 1", "x == 1 or y"]
KINDS = ["eventually {}", "always eventually {}", "eventually always {}", "{} leadsto {}"]
BOUND = 8


def random_spec(rng: random.Random) -> str:
    lines = ["protocol r", "var x : 0 .. 2 = 0", "var y : bool = " + rng.choice(["false", "any"])]
    for i in range(rng.randint(1, 3)):
        fair = rng.choice(["", "", "fair ", "strong fair "])
        lines.append(f"{fair}action a{i} when {rng.choice(GUARDS)} {{\n  {rng.choice(BODIES)}\n}}")
    kind = rng.choice(KINDS)
    lines.append("property p: " + kind.format(rng.choice(PREDS), rng.choice(PREDS)))
    lines.append("allow deadlock")
    return "\n".join(lines) + "\n"


class Brute:
    """Reference semantics only (model.ground.evaluate/execute): every lasso up to BOUND steps."""

    def __init__(self, model: Any) -> None:
        self.gm = ground(model)
        _, self.pexpr, self.goal = self.gm.properties[0]
        self.kind = self.gm.properties[0][0].kind
        self.weak = {i.id for i in self.gm.instances if i.fairness == "weak"}
        self.strong = {i.id for i in self.gm.instances if i.fairness == "strong"}
        self.succ: dict[Any, list[tuple[int, Any]]] = {}
        self.keys: dict[Any, dict[Any, Any]] = {}

    def key(self, st: dict[Any, Any]) -> Any:
        k = tuple(sorted(st.items()))
        self.keys[k] = st
        return k

    def successors(self, k: Any) -> list[tuple[int, Any]]:
        if k not in self.succ:
            st = self.keys[k]
            self.succ[k] = [(i.id, self.key(execute(i, st))) for i in self.gm.instances if evaluate(i.guard, st)]
        return self.succ[k]

    def holds(self, e: Any, k: Any) -> bool:
        return bool(evaluate(e, self.keys[k]))

    def fair(self, cycle: list[Any], taken: set[int]) -> bool:
        en = [{i for i, _ in self.successors(k)} for k in cycle]
        always_on = set.intersection(*en) if en else set()
        sometimes = set.union(*en) if en else set()
        return not ((self.weak & always_on) - taken) and not ((self.strong & sometimes) - taken)

    def violates(self, prefix: list[Any], cycle: list[Any]) -> bool:
        """Does the word prefix (cycle)^omega violate the property?"""
        p = lambda k: self.holds(self.pexpr, k)  # noqa: E731
        if self.kind == "eventually":
            return not any(p(k) for k in prefix + cycle)
        if self.kind == "always_eventually":
            return not any(p(k) for k in cycle)
        if self.kind == "eventually_always":
            return not all(p(k) for k in cycle)
        q = lambda k: self.holds(self.goal, k)  # noqa: E731
        word = prefix + cycle
        for j, k in enumerate(word):
            if p(k) and not any(q(x) for x in word[j:]) and not any(q(x) for x in cycle):
                return True
        return False

    def lasso_ok(self, states: list[Any], insts: list[int], loop: int) -> bool:
        """A valid fair violating lasso: consecutive states are transitions, last == loop state."""
        for a, i, b in zip(states, insts, states[1:], strict=False):
            if (i, b) not in self.successors(a):
                return False
        if loop == len(states) - 1:
            return not self.successors(states[-1]) and self.violates(states[:-1], [states[-1]])
        if states[-1] != states[loop]:
            return False
        cycle = states[loop:-1]
        return self.fair(cycle, set(insts[loop:])) and self.violates(states[:loop], cycle)

    def find(self) -> bool:
        inits = [self.key(st) for st in self.gm.initial_states()]
        for s0 in inits:
            stack: list[tuple[list[Any], list[int]]] = [([s0], [])]
            while stack:
                path, insts = stack.pop()
                last = path[-1]
                succ = self.successors(last)
                if not succ and self.violates(path[:-1], [last]):
                    return True
                for j in range(len(path) - 1):
                    if path[j] == last:
                        cyc = path[j:-1]
                        if self.fair(cyc, set(insts[j:])) and self.violates(path[:j], cyc):
                            return True
                if len(path) <= BOUND:
                    for i, n in succ:
                        stack.append((path + [n], insts + [i]))
        return False


def test_scc_verdict_agrees_with_brute_force_lassos(tmp_path: Path) -> None:
    outcomes = []
    for seed in range(60):
        text = random_spec(random.Random(seed))
        f = tmp_path / f"r{seed}.plug"
        f.write_text(text)
        model = build_model(load_spec(f), None, {})
        res, _ = explore(model)
        p = prop(res, "p")
        brute = Brute(model)
        found = brute.find()
        if p.status == HOLDS:
            assert not found, text
        else:
            assert p.status == VIOLATED and p.trace is not None, text
            by_label: dict[str | None, int] = {i.action: i.id for i in brute.gm.instances}
            states = [brute.key({("x", ()): s.state["x"], ("y", ()): s.state["y"]}) for s in p.trace.steps]
            insts = [by_label[s.action] for s in p.trace.steps[1:]]
            assert brute.lasso_ok(states, insts, p.trace.loop or 0), text
            if len(p.trace) <= BOUND:
                assert found, text
        outcomes.append((model.properties[0].kind, p.status))
    # the corpus exercises both verdicts and every kind of property
    statuses = [s for _, s in outcomes]
    assert statuses.count(HOLDS) >= 10 and statuses.count(VIOLATED) >= 10
    assert {k for k, _ in outcomes} == {"eventually", "always_eventually", "eventually_always", "leadsto"}


def test_brute_force_oracle_sees_fairness() -> None:
    """The oracle itself: the weak/strong pair differs only in fairness."""
    verdicts = []
    for name in ("weak_strong.plug", "weak_strong_sf.plug"):
        verdicts.append(Brute(build_model(load_spec(SPECS / name), None, {})).find())
    assert verdicts == [True, False]


def test_lasso_in_itf_has_the_loop_index() -> None:
    from checker.report.itf import from_itf, to_itf

    model = build_model(load_spec(SPECS / "counter_unfair.plug"), None, {})
    res, _ = explore(model)
    p = prop(res, "reacts")
    assert p.trace is not None
    doc = to_itf(model, p.trace)
    assert doc["loop"] == 1 and len(doc["states"]) == 4
    back = from_itf(model, doc)
    assert back.loop == 1 and back.steps[-1].state == back.steps[1].state


def test_trace_table_marks_the_loop() -> None:
    from rich.console import Console

    from checker.render import trace_table

    def text(spec: str, name: str) -> str:
        model = build_model(load_spec(SPECS / spec), None, {})
        res, _ = explore(model)
        p = prop(res, name)
        assert p.trace is not None
        con = Console(record=True, width=200, no_color=True)
        con.print(trace_table(model, p.trace))
        return con.export_text()

    out = text("counter_unfair.plug", "reacts")
    assert "⟲ loop starts here: inc" in out
    assert "⟲ back to step 1: steps 2..3 repeat forever" in out
    out = text("deadlock.plug", "reaches3")
    assert "⟲ loop starts here: step" in out
    assert "⟲ no action is enabled: step 2 repeats forever" in out


def test_time_budget_ends_liveness_inconclusive() -> None:
    import time

    from checker.liveness import check_temporal

    model = build_model(load_spec(SPECS / "counter.plug"), None, {})
    res, ex = explore(model, Budget(max_graph_states=1), record_edges=False)  # liveness records them itself
    props, _, stop = check_temporal(model, ex, res.transitions, 1000, None, deadline=time.perf_counter() - 1)
    assert [p.status for p in props] == [INCONCLUSIVE] * 4 and not stop
    assert "time budget ran out while recording the state graph" in props[0].message
    props, _, stop = check_temporal(model, ex, res.transitions, 1000, None, deadline=time.perf_counter() + 60)
    assert [p.status for p in props] == [HOLDS] * 4 and not stop


def test_a_signal_during_liveness_keeps_the_safety_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    from checker.liveness import check

    calls = []

    def interrupted(self: Any, k: int, p: Any) -> Any:
        calls.append(p.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, k, p)

    real = check.Liveness.check
    monkeypatch.setattr(check.Liveness, "check", interrupted)
    res = run(SPECS / "counter.plug")
    assert res.stopped is not None and res.stopped.interrupted
    assert prop(res, "done").status == HOLDS  # decided before the signal
    for name in ("again", "settles", "reacts"):
        p = prop(res, name)
        assert p.status == INCONCLUSIVE and "interrupted during the liveness check" in p.message
    assert prop(res, "deadlock").status == HOLDS and res.verdict == "inconclusive"


def test_memory_limit_refuses_before_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    from checker.liveness import check, graph_bytes

    def never(*a: Any) -> Any:
        raise AssertionError("the graph must not be recorded")

    monkeypatch.setattr(check, "search_edges", never)
    res = run(SPECS / "ref_sbm_live_fair.plug", Budget(max_graph_bytes=10_000))
    p = prop(res, "offline_gets_onlined")
    need = graph_bytes(res.states, res.transitions)
    assert p.status == INCONCLUSIVE and "above the limit of 0 MB (raise it with --max-graph-memory)" in p.message
    assert f"needs about {need / 2**20:.0f} MB" in p.message and f"{res.states:,} states" in p.message


# ---- agreement with the state-at-a-time networkx implementation (tests/liveness_oracle.py)
ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "specs").rglob("*.plug")) + sorted(SPECS.glob("*.plug"))


def same_as_oracle(path: Path, config: str | None = None) -> list[str]:
    """Check every liveness property both ways; return the statuses (the arrays' verdicts)."""
    from checker.graph import build_graph
    from checker.liveness import KINDS, Liveness
    from tests.liveness_oracle import Liveness as Oracle

    model = build_model(load_spec(path), config, {})
    res, ex = explore(model, Budget(max_graph_states=0))  # the search only
    todo = [(k, p) for k, p in enumerate(model.properties) if p.kind in KINDS]
    assert ex.complete
    ours = Liveness(ex, res.transitions)
    oracle = Oracle(ex, build_graph(ex, len(ex.states), res.transitions))
    statuses = []
    for k, p in todo:
        a, b = ours.check(k, p), oracle.check(k, p)
        assert (a.status, a.message) == (b.status, b.message), (path.name, p.name)
        if b.trace is not None:
            assert a.trace is not None
            assert [(s.action, s.state) for s in a.trace.steps] == [(s.action, s.state) for s in b.trace.steps]
            assert a.trace.loop == b.trace.loop
        statuses.append(a.status)
    return statuses


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_verdicts_and_lassos_as_the_oracle_on_shipped_specs(path: Path) -> None:
    from checker.liveness import KINDS

    model = build_model(load_spec(path), None, {})
    if not any(p.kind in KINDS for p in model.properties):
        pytest.skip("no liveness property")
    assert same_as_oracle(path)


def test_same_lassos_as_the_oracle_on_random_specs(tmp_path: Path) -> None:
    """Larger random specs than the brute-force test: three variables, up to five actions."""
    statuses = []
    for seed in range(40):
        rng = random.Random(1000 + seed)
        lines = ["protocol r", "var x : 0 .. 4 = 0", "var y : bool = any", "var z : 0 .. 2 = 0"]
        guards = GUARDS + ["z == 1", "z != x % 3", "x > z"]
        bodies = BODIES + ["z := (z + 1) % 3", "z := x % 3", "x := (x + z) % 5"]
        for i in range(rng.randint(2, 5)):
            fair = rng.choice(["", "fair ", "strong fair "])
            lines.append(f"{fair}action a{i} when {rng.choice(guards)} {{\n  {rng.choice(bodies)}\n}}")
        preds = PREDS + ["z == 2", "x == z"]
        for j, kind in enumerate(KINDS):
            lines.append(f"property p{j}: " + kind.format(rng.choice(preds), rng.choice(preds)))
        lines.append("allow deadlock")
        f = tmp_path / f"r{seed}.plug"
        f.write_text("\n".join(lines) + "\n")
        statuses += same_as_oracle(f)
    assert statuses.count(HOLDS) >= 20 and statuses.count(VIOLATED) >= 20


def test_strong_components_agree_with_networkx_on_random_graphs() -> None:
    """Duplicate transitions (two instances to one successor), self-loops, induced subgraphs."""
    import networkx as nx
    import numpy as np

    from checker.edges import Edges
    from checker.liveness.arrays import Simple

    rng = random.Random(7)
    for _ in range(80):
        n = rng.randint(1, 60)
        p = rng.choice([0.02, 0.05, 0.1])
        adj = [[v for v in range(n) if rng.random() < p] for _ in range(n)]
        adj = [sum(([v, v] if rng.random() < 0.3 else [v] for v in vs), []) for vs in adj]  # duplicates
        offsets = np.cumsum([0] + [len(vs) for vs in adj])
        succ = np.array([v for vs in adj for v in vs], dtype=np.int64)
        e = Edges(offsets.astype(np.int64), succ, np.zeros(succ.shape[0], np.int32))
        keep = np.array([rng.random() < 0.8 for _ in range(n)])
        labels = Simple.of(e).components(keep)
        g = nx.DiGraph()
        g.add_nodes_from(np.flatnonzero(keep).tolist())
        g.add_edges_from((u, v) for u in range(n) for v in adj[u] if keep[u] and keep[v])
        ours = {frozenset(np.flatnonzero((labels == labels[c]) & keep).tolist()) for c in np.flatnonzero(keep)}
        assert ours == {frozenset(c) for c in nx.strongly_connected_components(g)}


def test_max_graph_memory_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from checker.cli import main

    code = main(["check", str(SPECS / "counter.plug"), "--max-graph-memory", "1K", "--json"])
    assert code == 3
    out = capsys.readouterr().out
    assert '"status": "inconclusive"' in out and "above the limit of 0 MB (raise it with --max-graph-memory)" in out
    assert main(["check", str(SPECS / "counter.plug"), "--max-graph-memory", "1.5G", "-q"]) == 0
    with pytest.raises(SystemExit):
        main(["check", str(SPECS / "counter.plug"), "--max-graph-memory", "6X"])
    assert "expected a size such as 6G or 500M, got '6X'" in capsys.readouterr().err


def test_breadth_first_searches_in_small_pieces_find_the_same_lassos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large levels are expanded a piece at a time: the pieces must not change a lasso."""
    from checker.liveness import arrays

    monkeypatch.setattr(arrays, "EDGE_CHUNK", 3)
    assert arrays.pieces(np.array([0, 2, 4, 9, 10]), np.array([0, 1, 2, 3])) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert same_as_oracle(SPECS / "ref_sbm_live.plug") == [VIOLATED]
    assert same_as_oracle(SPECS / "counter_unfair.plug").count(VIOLATED) == 3


def test_time_budget_during_a_property_check() -> None:
    import time

    from checker.liveness import Liveness, check_temporal
    from checker.liveness.record import OutOfTime

    model = build_model(load_spec(SPECS / "ref_sbm_live_fair.plug"), None, {})
    res, ex = explore(model, Budget(max_graph_states=0))
    live = Liveness(ex, res.transitions)
    live.deadline = time.perf_counter() - 1
    k, p = next((k, p) for k, p in enumerate(model.properties) if p.kind == "leadsto")
    with pytest.raises(OutOfTime, match="while checking `offline_gets_onlined`"):
        live.check(k, p)
    props, _, stop = check_temporal(model, ex, res.transitions, None, None, deadline=time.perf_counter() + 60)
    assert [x.status for x in props] == [HOLDS] and not stop
