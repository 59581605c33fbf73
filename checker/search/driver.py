"""The one breadth-first search: a level a chunk at a time through whichever successor
backend was chosen, into the state store.

States get their numbers in discovery order: a chunk's successors are ordered by (source
state, instance) and a new state is kept at its first occurrence, so every backend numbers
the states alike, and counts, depth, coverage and shortest traces do not depend on the
backend. Budgets are checked between chunks; a stop is a `Stop` value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.ground import Ground

from ..codegen import Compiled
from ..edges import Edges
from .backends import Backend, Expansion
from .budget import INTERRUPTED, Budget, Clock, Stop, StopKind
from .exploration import Exploration
from .store import Store, to_words
from .verdicts import Findings


@dataclass
class _Chunk:
    """The outcome of expanding lanes [lo, hi) of the store, before it is committed."""

    new: np.ndarray  # new states in discovery order
    src: np.ndarray  # their parents (state numbers)
    iid: np.ndarray  # the instance that reached each
    exp: Expansion
    edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # per-state counts, successor, instance


@dataclass
class Searched:
    """A search's outcome: what it found, what it reached, and why it stopped (None: complete)."""

    found: Findings
    exploration: Exploration
    stop: Stop | None


class _Level:
    def __init__(self, gm: Ground, store: Store, backend: Backend, record: bool) -> None:
        self.store, self.backend, self.record = store, backend, record
        self.ninst = len(gm.instances)

    def expand(self, lo: int, hi: int) -> _Chunk:
        st = self.store
        S = st.states[lo:hi]
        exp = self.backend.expand(S)
        src, iid, nxt = exp.src, exp.iid, exp.nxt
        # self-loops and states seen before are not new
        moved = (nxt[:, 0] != S[src, 0]) if st.k == 1 else (nxt != S[src]).any(axis=1)
        keep = np.flatnonzero(moved)
        target = np.zeros(0, dtype=np.int64)
        if self.record:
            seen = st.visited.lookup(nxt[keep])
            target = np.full(src.shape[0], -1, dtype=np.int64)  # each transition's successor number
            target[~moved] = src[~moved] + lo
            target[keep] = seen
            keep = keep[seen < 0]
        else:
            keep = keep[~st.visited.contains(nxt[keep])]
        nsrc, niid, nnxt = src[keep], iid[keep], nxt[keep]
        first = first_occurrences(nnxt, nsrc * self.ninst + niid, self.record)
        edges = None
        if self.record:
            assert first.group is not None
            target[keep] = st.n + first.group  # a new state's number: after the states so far
            o = np.lexsort((iid, src))  # per source state, in instance order
            edges = (np.bincount(src, minlength=hi - lo), target[o], iid[o].astype(np.int32))
        return _Chunk(first.states, first.key // self.ninst + lo, (first.key % self.ninst).astype(np.int32), exp, edges)


@dataclass
class Firsts:
    """The distinct rows of a chunk of successors, each at its first occurrence."""

    states: np.ndarray  # distinct rows, ordered by their smallest key
    key: np.ndarray  # that smallest key, ascending
    group: np.ndarray | None  # when asked: per input row, its distinct row's position in `states`


def first_occurrences(rows: np.ndarray, key: np.ndarray, groups: bool = False) -> Firsts:
    """Keep each distinct row of (m, k) words once, at its smallest (source, instance) key,
    in key order: the rule that numbers states alike on every backend, and in every partition
    of the distributed search."""
    k = rows.shape[1]
    order = np.argsort(rows[:, 0]) if k == 1 else np.lexsort(rows.T[::-1])
    sn, sk = rows[order], key[order]
    if not sn.size:
        return Firsts(sn, sk, np.zeros(0, dtype=np.int64) if groups else None)
    fresh = (sn[1:] != sn[:-1]).any(axis=1)
    starts = np.flatnonzero(np.concatenate(([True], fresh)))
    firstkey = np.minimum.reduceat(sk, starts)
    by_key = np.argsort(firstkey)
    group = None
    if groups:
        g = np.empty(sn.shape[0], dtype=np.int64)
        g[order] = np.cumsum(np.concatenate(([0], fresh)))
        rank = np.empty(by_key.shape[0], dtype=np.int64)
        rank[by_key] = np.arange(by_key.shape[0])
        group = rank[g]
    return Firsts(sn[starts][by_key], firstkey[by_key], group)


class Tally:
    """What a search found besides its states, by state number: first property hits, the first
    deadlock and runtime error, coverage. Several tallies (one per partition of the distributed
    search) merge into one: first hits take the smallest state number, counts add up."""

    def __init__(self, gm: Ground) -> None:
        self.actions = list(dict.fromkeys(inst.action for inst in gm.instances))
        self.inv_n = sum(1 for p, _, _ in gm.properties if p.kind == "invariant")
        self.reach_n = sum(1 for p, _, _ in gm.properties if p.kind == "reachable")
        self.inv_found: dict[int, int] = {}
        self.reach_found: dict[int, int] = {}
        self.fired = bytearray(len(gm.instances))
        self.inst_trans = np.zeros(len(gm.instances), dtype=np.int64)
        self.act_total = np.zeros(len(self.actions), dtype=np.int64)
        self.dead_at = -1
        self.range_err: tuple[int, int, str] | None = None
        self.transitions = 0

    def check(self, backend: Backend, S: np.ndarray, base: int) -> None:
        """Properties on states numbered base, base+1, ...: the first hit of each."""
        if len(self.inv_found) < self.inv_n:
            _first_hits(backend.violated(S), base, self.inv_found)
        if len(self.reach_found) < self.reach_n:
            _first_hits(backend.reached(S), base, self.reach_found)

    def add(self, exp: Expansion, base: int) -> None:
        """The expansion of states numbered base, base+1, ...: coverage, deadlock, runtime error."""
        counts = np.bincount(exp.iid, minlength=len(self.fired)) if exp.iid.size else None
        self.transitions += int(exp.iid.shape[0])
        if counts is not None:
            self.inst_trans += counts
            for i in np.flatnonzero(counts).tolist():
                self.fired[i] = 1
        for i in exp.err_fired:
            self.fired[i] = 1
        self.act_total += exp.act_counts
        if self.dead_at < 0 and not exp.enabled.all():
            self.dead_at = base + int(np.argmin(exp.enabled))
        if exp.range_err is not None and self.range_err is None:
            lane, i, msg = exp.range_err
            self.range_err = (base + lane, i, msg)

    def merge(self, other: Tally) -> None:
        for mine, theirs in ((self.inv_found, other.inv_found), (self.reach_found, other.reach_found)):
            for k, v in theirs.items():
                mine[k] = min(v, mine.get(k, v))
        for i, f in enumerate(other.fired):
            self.fired[i] |= f
        self.inst_trans += other.inst_trans
        self.act_total += other.act_total
        if other.dead_at >= 0 and (self.dead_at < 0 or other.dead_at < self.dead_at):
            self.dead_at = other.dead_at
        if other.range_err is not None and (self.range_err is None or other.range_err[0] < self.range_err[0]):
            self.range_err = other.range_err
        self.transitions += other.transitions

    def findings(self, gm: Ground, depth: int) -> Findings:
        enabled_states = {a.name: 0 for a in gm.model.actions}
        for name, c in zip(self.actions, self.act_total.tolist(), strict=True):
            enabled_states[name] = c
        return Findings(
            self.inv_found,
            self.reach_found,
            self.dead_at,
            self.range_err,
            self.fired,
            self.inst_trans.tolist(),
            enabled_states,
            self.transitions,
            depth,
        )


def search(
    gm: Ground,
    comp: Compiled,
    backend: Backend,
    init: list[int],
    budget: Budget,
    clock: Clock,
    stop: Stop | None,
    record: bool,
    k: int,
) -> Searched:
    """Breadth-first search from the distinct initial states `init` (their enumeration may
    have stopped already: `stop`)."""
    store = Store(k, record)
    level = _Level(gm, store, backend, record)
    edge_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    tally = Tally(gm)
    store.append(to_words(init, k), np.full(len(init), -1, dtype=np.int64), np.full(len(init), -1, dtype=np.int32))
    tally.check(backend, store.states[: store.n], 0)
    depth = 0
    level_start, level_end = 0, store.n
    try:
        while level_start < level_end and stop is None:
            if budget.max_depth is not None and depth >= budget.max_depth:
                stop = Stop(StopKind.DEPTH, budget.max_depth)
                break
            lo = level_start
            while lo < level_end:
                hi = min(lo + backend.chunk, level_end)
                ch = level.expand(lo, hi)
                if budget.max_states is not None and store.n + ch.new.shape[0] >= budget.max_states:
                    # stop after the first state whose successors reach the budget
                    c = budget.max_states - store.n
                    last = lo if c <= 0 else int(ch.src[c - 1])
                    hi = last + 1
                    ch = level.expand(lo, hi)
                    stop = Stop(StopKind.STATES, budget.max_states)
                start = store.n
                store.append(ch.new, ch.src, ch.iid)
                if ch.edges is not None:
                    edge_parts.append(ch.edges)
                tally.check(backend, store.states[start : store.n], start)
                tally.add(ch.exp, lo)
                if stop is not None:
                    break
                lo = hi
                stop = clock.check(store.n, tally.transitions, depth, level_end - lo)
                if stop is not None:
                    break
            if stop is not None:
                break
            depth += 1
            level_start, level_end = level_end, store.n
    except KeyboardInterrupt:
        stop = INTERRUPTED
    if level_start >= level_end and depth > 0:
        depth -= 1  # the last level expanded had no new states
    ex = Exploration(gm, comp)
    ex.states, ex.parent, ex.action, ex.index = store.views()  # type: ignore[assignment]
    ex.complete = stop is None
    if record and stop is None:
        ex.edges = edges_of(edge_parts, store.n)
    return Searched(tally.findings(gm, depth), ex, stop)


def edges_of(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], states: int) -> Edges:
    """The CSR transitions from the per-chunk pieces, which cover the states in order."""
    counts = [p[0] for p in parts] or [np.zeros(0, np.int64)]
    offsets = np.zeros(states + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=offsets[1:])
    succ = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    inst = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int32)
    return Edges(offsets, succ, inst)


def _first_hits(hits: list[np.ndarray], base: int, found: dict[int, int]) -> None:
    """Record, per property not found yet, the first lane where it hit (as a state number)."""
    for k, h in enumerate(hits):
        if k not in found and h.any():
            found[k] = base + int(np.argmax(h))
