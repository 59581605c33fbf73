"""Liveness under fairness on the reached state graph, held as arrays (`Edges`).

Executions are infinite sequences of action steps; a state with no enabled action (a
deadlock) stutters forever. `fair action` is weak fairness per action instance (if it is
enabled from some point on, it is taken infinitely often), `strong fair action` strong
fairness (if it is enabled infinitely often, it is taken infinitely often).

Each property is reduced to "a fair run that stays in an allowed region A from a trigger on":
  eventually P          A = not P, triggered in an initial state
  always eventually P   A = not P, triggered anywhere
  P leadsto Q           A = not Q, triggered where P and not Q
  eventually always P   A = every state, and the cycle must visit a not-P state
A violation is a fair strongly connected component of A reachable from a trigger within A
(`fair.py`). The counterexample is a lasso (`lasso.py`): a shortest prefix to the component
and a cycle in it that meets every fairness obligation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from model import typed as T

from ..memory import available_bytes, size_text
from ..results import HOLDS, INCONCLUSIVE, VIOLATED, PropertyResult, RunResult, Step, Trace
from ..states import step
from ..stops import INTERRUPTED as STOP_INTERRUPTED
from ..stops import Stop
from .arrays import FairBits, Simple, reach
from .fair import fair_components
from .lasso import Cycle, prefix
from .record import OutOfTime, property_masks, search_edges, state_words

KINDS = ("eventually", "always_eventually", "leadsto", "eventually_always")

# Peak bytes the check adds, measured with tests/bench/liveness_bench.py (ref_sbm B=3 S=4 L=2:
# 11.5 M states, 256 M transitions, 3.8 GB over the search): per transition the rebuilt
# transitions (int32 successor, int16 instance; nothing when the search recorded them), the
# deduplicated int32 CSR scipy reads and one property's induced subgraph; per state the
# offsets, masks, labels and the fair components' and lasso's arrays.
REBUILT_EDGE_BYTES = 6
EDGE_BYTES = 8
STATE_BYTES = 120
INTERRUPTED = "interrupted during the liveness check; the safety verdicts above are complete"


@dataclass
class Verdict:
    status: str
    trace: Trace | None
    message: str
    lasso: tuple[list[tuple[int, int]], int] | None = None  # [(instance or -1, state index)], loop index


def graph_bytes(states: int, transitions: int, recorded: bool = False) -> int:
    """What checking liveness on a graph of this size needs, about (`recorded`: the search
    kept its transitions, so they are not rebuilt)."""
    return states * STATE_BYTES + transitions * (EDGE_BYTES + (0 if recorded else REBUILT_EDGE_BYTES))


def too_large(
    states: int, transitions: int, max_states: int | None, max_bytes: int | None, recorded: bool = False
) -> str:
    """Why the graph is not built (checked before any allocation), or ""."""
    need = graph_bytes(states, transitions, recorded)
    if max_states is not None and states > max_states:
        return (
            f"the state graph has {states:,} states, above the limit of {max_states:,} for liveness checking "
            f"(--max-graph-states; it would need about {size_text(need)}: use --max-graph-memory instead)"
        )
    if max_bytes is not None and need > max_bytes:
        return (
            f"liveness checking needs about {size_text(need)} for the state graph ({states:,} states, "
            f"{transitions:,} transitions), above the limit of {size_text(max_bytes)} "
            "(raise it with --max-graph-memory)"
        )
    avail = available_bytes()
    if max_bytes is None and avail is not None and need > avail * 0.8:
        return (
            f"liveness checking needs about {size_text(need)} for the state graph ({states:,} states, "
            f"{transitions:,} transitions) but only {size_text(avail)} of memory is available"
        )
    return ""


class Liveness:
    """Checks temporal properties of one explored model on its recorded transitions."""

    def __init__(self, ex: Any, transitions: int, deadline: float | None = None) -> None:
        self.ex = ex
        self.deadline = deadline
        self.edges = search_edges(ex, transitions, deadline)
        self.states = state_words(ex)
        n = self.edges.states
        self.inits = 0  # the initial states come first in BFS order
        while self.inits < n and ex.parent[self.inits] < 0:
            self.inits += 1
        self.fairness = [i.fairness for i in ex.ground.instances]
        self.fair = any(f in ("weak", "strong") for f in self.fairness)
        self._simple: Simple | None = None
        self._bits: FairBits | None = None
        self._props: dict[int, np.ndarray] = {}
        self._goals: dict[int, np.ndarray] = {}
        self.checking = ""  # the property being checked, for the budget message
        self._kinds = {k: p.kind for k, (p, _, _) in enumerate(ex.ground.properties) if p.kind in KINDS}

    @property
    def simple(self) -> Simple:
        if self._simple is None:
            self._simple = Simple.of(self.edges)
        return self._simple

    @property
    def bits(self) -> FairBits:
        if self._bits is None:
            self._bits = FairBits.of(self.edges, self.fairness)
        return self._bits

    def masks(self, ks: list[int], goals: bool = False) -> dict[int, np.ndarray]:
        """Per property number: bool per state, the property's expression (or its goal). The
        first call evaluates every liveness property and goal in one pass."""
        if not self._props:
            props = self.ex.ground.properties
            ps = list(self._kinds)
            gs = [k for k in ps if self._kinds[k] == "leadsto"]
            vals = property_masks(self.ex, self.states, [props[k][1] for k in ps] + [props[k][2] for k in gs])
            self._props = dict(zip(ps, vals[: len(ps)], strict=True))
            self._goals = dict(zip(gs, vals[len(ps) :], strict=True))
        cache = self._goals if goals else self._props
        return {k: cache[k] for k in ks}

    def check(self, k: int, p: T.PropT) -> Verdict:
        """Property number k (its position in the model's property list)."""
        self.checking = p.name
        n = self.edges.states
        pm = self.masks([k])[k]
        accept: np.ndarray | None = None
        if p.kind == "eventually":
            allowed = ~pm
            trigger = np.zeros(n, dtype=np.bool_)
            trigger[: self.inits] = allowed[: self.inits]
        elif p.kind == "always_eventually":
            allowed = ~pm
            trigger = allowed
        elif p.kind == "leadsto":
            allowed = ~self.masks([k], goals=True)[k]
            trigger = allowed & pm
        elif p.kind == "eventually_always":
            allowed = np.ones(n, dtype=np.bool_)
            trigger = allowed
            accept = ~pm
        else:
            raise ValueError(f"not a liveness property kind: {p.kind}")
        region = reach(self.edges, np.flatnonzero(trigger), allowed)
        self._in_time()
        fc = fair_components(self.edges, self.simple, self.bits, region, accept, self.fair, self._in_time)
        self._in_time()
        if fc.count == 0:
            return Verdict(HOLDS, None, "")
        path = prefix(self.edges, fc.owner, p.kind, allowed, trigger, self.inits)
        end = path[-1][1]
        loop = len(path) - 1
        path += Cycle(self.edges, fc, self.bits, int(fc.owner[end]), accept).cycle(end)
        return Verdict(VIOLATED, self._trace(path, loop), _message(p, self.fair), (path, loop))

    def _in_time(self) -> None:
        """Between the phases of a property (each a few whole-array passes): past the deadline,
        raise OutOfTime."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfTime(f"while checking `{self.checking}`")

    def _trace(self, path: list[tuple[int, int]], loop: int) -> Trace:
        m, lay, insts = self.ex.ground.model, self.ex.compiled.layout, self.ex.ground.instances
        steps: list[Step] = [step(m, lay, insts[i] if i >= 0 else None, self.ex.states[s]) for i, s in path]
        return Trace(steps, loop)


def _message(p: T.PropT, fair: bool) -> str:
    run = "a fair run" if fair else "a run (no action is fair)"
    return {
        "eventually": f"`{p.name}`: {run} never reaches the goal",
        "always_eventually": f"`{p.name}`: {run} reaches a point after which the goal never holds again",
        "leadsto": f"`{p.name}`: {run} meets the condition and never reaches the goal after it",
        "eventually_always": f"`{p.name}`: {run} leaves the goal again and again",
    }[p.kind]


def check_temporal(
    model: T.Model,
    ex: Any,
    transitions: int,
    max_graph_states: int | None,
    stopped: Stop | None,
    deadline: float | None = None,
    max_graph_bytes: int | None = None,
) -> tuple[list[PropertyResult], list[str], bool]:
    """Results for the model's liveness properties (`always P` is an invariant and checked
    by the search), warnings about vacuous `leadsto` antecedents, and whether a signal
    (Ctrl-C, SIGTERM) interrupted the check. Past `deadline` (a time.perf_counter() value)
    or after a signal the properties not decided yet are inconclusive."""
    todo = [(k, p) for k, p in enumerate(model.properties) if p.kind in KINDS]
    if not todo:
        return [], [], False

    def rest(why: str, done: list[PropertyResult]) -> list[PropertyResult]:
        names = {r.name for r in done}
        return done + [
            PropertyResult(p.name, "liveness", INCONCLUSIVE, None, why, p.span) for _, p in todo if p.name not in names
        ]

    if stopped is not None or not ex.complete:
        why = f"the search stopped ({stopped or 'incomplete'}); liveness needs every reachable state"
        return rest(why, []), [], False
    recorded = getattr(ex, "edges", None) is not None
    refused = too_large(len(ex.states), transitions, max_graph_states, max_graph_bytes, recorded)
    if refused:
        return rest(refused, []), [], False
    out: list[PropertyResult] = []
    warnings: list[str] = []
    try:
        live = Liveness(ex, transitions, deadline)
        lead = [k for k, p in todo if p.kind == "leadsto"]
        for k, m in live.masks(lead).items():
            if not m.any():
                name = model.properties[k].name
                warnings.append(f"`{name}` holds vacuously: its left side is false in every reachable state")
        for k, p in todo:
            if deadline is not None and time.perf_counter() > deadline:
                return rest("the time budget ran out before this property was checked", out), warnings, False
            v = live.check(k, p)
            out.append(PropertyResult(p.name, "liveness", v.status, v.trace, v.message, p.span))
    except OutOfTime as exc:
        why = f"the time budget ran out {exc}"
        return rest(why, out), warnings, False
    except KeyboardInterrupt:
        return rest(INTERRUPTED, out), warnings, True
    except MemoryError:
        return rest("out of memory during the liveness check (lower --max-graph-memory)", out), warnings, False
    return out, warnings, False


def add_liveness(model: T.Model, res: RunResult, ex: Any, budget: Any) -> RunResult:
    """Add the liveness verdicts to a search's result (checked after a complete search). A
    signal during the check keeps every verdict the search reached and marks the run
    interrupted."""
    t0 = time.perf_counter()
    deadline = t0 + budget.timeout - res.seconds if budget.timeout is not None else None
    props, warnings, interrupted = check_temporal(
        model, ex, res.transitions, budget.max_graph_states, res.stopped, deadline, budget.max_graph_bytes
    )
    for pr in props:
        pr.expected = model.expects.get(pr.name)
    res.properties += props
    if res.stopped is None and not interrupted:
        res.warnings += warnings + fairness_warnings(model, {c.action: c.enabled_states for c in res.coverage})
    if interrupted:
        res.stopped = STOP_INTERRUPTED
    if props:
        from ..search import peak_mb

        res.seconds += time.perf_counter() - t0
        res.peak_mb = peak_mb()
    return res


def fairness_warnings(model: T.Model, enabled_states: dict[str, int]) -> list[str]:
    """A fairness annotation on an action that is never enabled constrains nothing: likely a mistake."""
    return [
        f"`{a.fairness} fair action {a.name}` is never enabled, so its fairness has no effect"
        if a.fairness == "strong"
        else f"`fair action {a.name}` is never enabled, so its fairness has no effect"
        for a in model.actions
        if a.fairness and enabled_states.get(a.name, 0) == 0
    ]
