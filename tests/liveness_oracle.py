"""The state-at-a-time liveness check over a networkx graph (checker.graph): the oracle the
array implementation in checker.liveness is compared with, verdict and lasso alike.

The reduction of each property to a region, a trigger and fair components is the one
checker/liveness/check.py describes; only the data structures differ.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from checker.liveness.check import _message
from checker.results import HOLDS, VIOLATED, Step, Trace
from checker.states import step
from model import typed as T

KINDS = ("eventually", "always_eventually", "leadsto", "eventually_always")


@dataclass
class Component:
    """A fair strongly connected set of states, with what a cycle through it must meet."""

    states: set[int]
    need_insts: set[int]  # instances the cycle must take (fairness)
    need_states: list[set[int]] = field(default_factory=list)  # the cycle must visit one of each
    need_disabled: set[int] = field(default_factory=set)  # weakly fair instances it must see disabled


@dataclass
class Verdict:
    status: str
    trace: Trace | None
    message: str
    lasso: tuple[list[tuple[int, int]], int] | None = None  # [(instance or -1, state)], loop index


class Liveness:
    """Checks temporal properties of one explored model on its state graph `g`."""

    def __init__(self, ex: Any, g: Any) -> None:
        self.ex = ex
        self.g = g
        self.adj = g._adj
        comp = ex.compiled
        self.comp = comp
        self.inits: list[int] = []  # the initial states come first in BFS order
        while len(self.inits) < len(ex.states) and ex.parent[len(self.inits)] < 0:
            self.inits.append(ex.states[len(self.inits)])
        insts = ex.ground.instances
        self.weak = {i.id for i in insts if i.fairness == "weak"}
        self.strong = {i.id for i in insts if i.fairness == "strong"}
        self.fair = self.weak | self.strong
        self._en: dict[int, frozenset[int]] = {}
        self._props: dict[int, int] | None = None
        self._goals: dict[int, int] | None = None

    # -- per-state facts, computed once
    def props(self) -> dict[int, int]:
        if self._props is None:
            f = self.comp.props
            self._props = {s: f(s) for s in self.adj}
        return self._props

    def goals(self) -> dict[int, int]:
        if self._goals is None:
            f = self.comp.goals
            self._goals = {s: f(s) for s in self.adj}
        return self._goals

    def enabled(self, s: int) -> frozenset[int]:
        """The fair instances enabled in s: those with an edge out of s (cheaper than the
        guards; an instance that fails with a runtime error counts as disabled, the search
        reports the error as a `range` violation)."""
        e = self._en.get(s)
        if e is None:
            fair = self.fair
            e = self._en[s] = frozenset(i for d in self.adj[s].values() for i in d["inst"] if i in fair)
        return e

    # -- the check
    def check(self, k: int, p: T.PropT) -> Verdict:
        """Property number k (its position in the model's property list)."""
        bit = 1 << k
        pm = self.props()
        accept: set[int] | None = None
        if p.kind == "eventually":
            allowed = {s for s, m in pm.items() if not m & bit}
            triggers = [s for s in self.inits if s in allowed]
        elif p.kind == "always_eventually":
            allowed = {s for s, m in pm.items() if not m & bit}
            triggers = list(allowed)
        elif p.kind == "leadsto":
            qm = self.goals()
            allowed = {s for s, m in qm.items() if not m & bit}
            triggers = [s for s in allowed if pm[s] & bit]
        elif p.kind == "eventually_always":
            allowed = set(self.adj)
            triggers = list(allowed)
            accept = {s for s, m in pm.items() if not m & bit}
        else:
            raise ValueError(f"not a liveness property kind: {p.kind}")
        region = self._reach(triggers, allowed)
        comps = list(self._fair_components(region, accept))
        if not comps:
            return Verdict(HOLDS, None, "")
        lasso = self._lasso(p.kind, comps, allowed, set(triggers))
        return Verdict(VIOLATED, self._trace(*lasso), _message(p, bool(self.fair)), lasso)

    def _reach(self, start: list[int], allowed: set[int]) -> set[int]:
        seen = set(start)
        todo = list(start)
        adj = self.adj
        while todo:
            u = todo.pop()
            for v in adj[u]:
                if v in allowed and v not in seen:
                    seen.add(v)
                    todo.append(v)
        return seen

    def _sccs(self, nodes: set[int]) -> Iterator[set[int]]:
        """Strongly connected components of the subgraph on `nodes` that hold a cycle (a
        deadlock state counts: it stutters)."""
        adj = self.adj
        for c in strongly_connected(adj, nodes):
            if len(c) > 1:
                yield c
            else:
                (u,) = c
                if u in adj[u] or not adj[u]:
                    yield c

    def _fair_components(self, region: set[int], accept: set[int] | None) -> Iterator[Component]:
        todo = list(self._sccs(region))
        adj = self.adj
        while todo:
            c = todo.pop()
            need_states: list[set[int]] = []
            if accept is not None:
                hit = c & accept
                if not hit:
                    continue
                need_states.append(hit)
            if len(c) == 1 and not adj[next(iter(c))]:
                yield Component(c, set(), need_states)  # a deadlock: nothing is enabled, so it is fair
                continue
            if not self.fair:
                yield Component(c, set(), need_states)
                continue
            en_all: set[int] | None = None
            en_any: set[int] = set()
            for s in c:
                e = self.enabled(s)
                en_any |= e
                en_all = set(e) if en_all is None else en_all & e
            taken: set[int] = set()
            for u in c:
                for v, d in adj[u].items():
                    if v in c:
                        taken.update(d["inst"])
            assert en_all is not None
            if (self.weak & en_all) - taken:
                continue  # some instance is enabled all along the component and never taken in it
            bad = (self.strong & en_any) - taken
            if bad:
                keep = {s for s in c if not self.enabled(s) & bad}
                todo.extend(self._sccs(keep))
                continue
            yield Component(
                c, (self.weak & en_all) | (self.strong & en_any), need_states, (self.weak & en_any) - en_all
            )

    # -- the counterexample
    def _lasso(
        self, kind: str, comps: list[Component], allowed: set[int], triggers: set[int]
    ) -> tuple[list[tuple[int, int]], int]:
        """A shortest path from an initial state through a trigger (staying in `allowed`
        after it) to a fair component, then a cycle in it back to its first state."""
        owner = {s: c for c in comps for s in c.states}
        adj = self.adj
        parent: dict[tuple[int, int], tuple[tuple[int, int] | None, int]] = {}
        q: deque[tuple[int, int]] = deque()

        def push(node: tuple[int, int], par: tuple[int, int] | None, iid: int) -> None:
            if node not in parent:
                parent[node] = (par, iid)
                q.append(node)

        for s in self.inits:
            if kind != "eventually":
                push((s, 0), None, -1)
            if s in triggers:
                push((s, 1), (s, 0) if kind != "eventually" else None, -1)
        end: tuple[int, int] | None = None
        while q:
            node = q.popleft()
            u, ph = node
            if ph == 1 and u in owner:
                end = node
                break
            for v, d in adj[u].items():
                iid = d["inst"][0]
                if ph == 0:
                    push((v, 0), node, iid)
                    if v in triggers:
                        push((v, 1), (v, 0), -1)
                elif v in allowed:
                    push((v, 1), node, iid)
        assert end is not None, "a fair component is reachable by construction"
        path: list[tuple[int, int]] = []
        cur: tuple[int, int] | None = end
        while cur is not None:
            par, iid = parent[cur]
            if par is None or par[0] != cur[0] or iid >= 0:
                path.append((iid, cur[0]))
            cur = par
        path.reverse()
        loop = len(path) - 1
        path += self._cycle(owner[end[0]], end[0])
        return path, loop

    def _cycle(self, c: Component, e: int) -> list[tuple[int, int]]:
        """Steps from e back to e inside c that take every needed instance and visit every
        needed state set ([] for a deadlock, which stutters)."""
        adj = self.adj
        if len(c.states) == 1 and not adj[e]:
            return []
        insts = set(c.need_insts)
        sets = [x for x in c.need_states if e not in x]
        off = {i for i in c.need_disabled if i in self.enabled(e)}  # to see disabled somewhere
        out: list[tuple[int, int]] = []
        cur = e
        while insts or sets or off:
            seg = self._bfs(c.states, cur, insts, sets, off)
            for iid, v in seg:
                insts.discard(iid)
                sets = [x for x in sets if v not in x]
                off &= self.enabled(v)
            out += seg
            cur = out[-1][1]
        if cur != e or not out:
            out += self._bfs(c.states, cur, set(), [{e}], set())
        return out

    def _bfs(
        self, within: set[int], start: int, insts: set[int], sets: list[set[int]], off: set[int]
    ) -> list[tuple[int, int]]:
        """The shortest non-empty step sequence inside `within` from start whose last step takes
        one of `insts`, enters one of `sets`, or enters a state where one of `off` is disabled."""
        adj = self.adj
        parent: dict[int, tuple[int, int]] = {}
        q = deque([start])
        seen = {start}
        while q:
            u = q.popleft()
            for v, d in adj[u].items():
                if v not in within:
                    continue
                if insts.intersection(d["inst"]) or any(v in x for x in sets) or not off <= self.enabled(v):
                    iid = next((i for i in d["inst"] if i in insts), d["inst"][0])
                    seg = [(iid, v)]
                    while u != start:
                        pu, pi = parent[u]
                        seg.append((pi, u))
                        u = pu
                    seg.reverse()
                    return seg
                if v not in seen:
                    seen.add(v)
                    parent[v] = (u, next((i for i in d["inst"] if i in insts), d["inst"][0]))
                    q.append(v)
        raise AssertionError("the component is strongly connected")

    def _trace(self, path: list[tuple[int, int]], loop: int) -> Trace:
        m, lay, insts = self.ex.ground.model, self.comp.layout, self.ex.ground.instances
        steps: list[Step] = [step(m, lay, insts[i] if i >= 0 else None, s) for i, s in path]
        return Trace(steps, loop)


def strongly_connected(adj: Any, nodes: set[int]) -> Iterator[set[int]]:
    """Tarjan's algorithm, iterative, on the subgraph of `adj` (a networkx adjacency) induced
    by `nodes`: 5x faster than networkx on a subgraph view, which filters every neighbour
    through several layers of views."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(adj[root]))]
        while work:
            v, it = work[-1]
            for w in it:
                if w not in nodes:
                    continue
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(adj[w])))
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    if low[v] < low[u]:
                        low[u] = low[v]
                if low[v] == index[v]:
                    comp = set()
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.add(w)
                        if w == v:
                            break
                    yield comp
