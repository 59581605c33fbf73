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
from ..stops import INTERRUPTED, Stop, StopKind
from .backends import Backend, Expansion
from .budget import Budget, Clock
from .checkpoint import Resumed, Saver
from .exploration import Exploration
from .store import Store, row_hash, to_words
from .tally import Cursor, Tally
from .verdicts import Findings


@dataclass
class _Chunk:
    """The outcome of expanding lanes [lo, hi) of the store, before it is committed."""

    new: np.ndarray  # new states in discovery order
    src: np.ndarray  # their parents (state numbers)
    iid: np.ndarray  # the instance that reached each
    at: np.ndarray | None  # where each one's probe of the visited set ended: its slot, unless another takes it
    exp: Expansion
    edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # per-state counts, successor, instance
    known: bool = False  # the new states are in the visited set already (the C kernels' `visit`)
    cut: int | None = None  # with `known`: the state budget was reached, lanes from this one were left


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

    def expand(self, lo: int, hi: int, limit: int | None = None) -> _Chunk:
        """Lanes [lo, hi) expanded; `limit`: how many new states the budget still allows (a
        chunk that reaches it is cut after the lane of the limit-th, only by the C kernels'
        `visit`: the caller cuts the other way's chunks)."""
        st = self.store
        S = st.states[lo:hi]
        exp = self.backend.expand(S)
        src, iid, nxt = exp.src, exp.iid, exp.nxt
        native = self.backend.native
        visited = native.visit(S, src, iid, nxt, st.visited, st.n, lo, limit) if exp.ordered and native else None
        if visited is not None:
            new, nsrc, niid, target, cut = visited
            edges = None
            if self.record:
                assert target is not None
                done = src.shape[0] if cut is None else int(np.searchsorted(src, cut))
                lanes = hi - lo if cut is None else cut
                edges = (np.bincount(src[:done], minlength=lanes), target[:done], iid[:done].astype(np.int32))
            return _Chunk(new, nsrc, niid, None, exp, edges, True, cut)
        # self-loops and states seen before are not new
        moved = rows_differ(nxt, S, src)
        keep = np.flatnonzero(moved)
        rows = np.take(nxt, keep, axis=0)
        target = np.zeros(0, dtype=np.int64)
        if self.record:
            seen, end = st.visited.probe_values(rows)
            target = np.full(src.shape[0], -1, dtype=np.int64)  # each transition's successor number
            target[~moved] = src[~moved] + lo
            target[keep] = seen
            new = seen < 0
        else:
            found, end = st.visited.probe(rows)
            new = ~found
        keep = keep[new]
        nsrc, niid = src[keep], iid[keep]
        first = first_occurrences(np.compress(new, rows, axis=0), nsrc * self.ninst + niid, self.record, end[new])
        edges = None
        if self.record:
            assert first.group is not None
            target[keep] = st.n + first.group  # a new state's number: after the states so far
            o = np.lexsort((iid, src))  # per source state, in instance order
            edges = (np.bincount(src, minlength=hi - lo), target[o], iid[o].astype(np.int32))
        assert first.carry is not None
        key, at = first.key, first.carry
        return _Chunk(first.states, key // self.ninst + lo, (key % self.ninst).astype(np.int32), at, exp, edges)


@dataclass
class Firsts:
    """The distinct rows of a chunk of successors, each at its first occurrence."""

    states: np.ndarray  # distinct rows, ordered by their smallest key
    key: np.ndarray  # that smallest key, ascending
    group: np.ndarray | None  # when asked: per input row, its distinct row's position in `states`
    carry: np.ndarray | None  # when given: a per-row value (equal for equal rows), per distinct row


def first_occurrences(
    rows: np.ndarray, key: np.ndarray, groups: bool = False, carry: np.ndarray | None = None
) -> Firsts:
    """Keep each distinct row of (m, k) words once, at its smallest (source, instance) key,
    in key order: the rule that numbers states alike on every backend, and in every partition
    of the distributed search. `carry` goes along with the rows."""
    order, fresh = _group_rows(rows)
    sn, sk = np.take(rows, order, axis=0), key[order]
    if not sn.size:
        return Firsts(sn, sk, np.zeros(0, dtype=np.int64) if groups else None, None if carry is None else carry[:0])
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
    pick = starts[by_key]
    return Firsts(np.take(sn, pick, axis=0), firstkey[by_key], group, None if carry is None else carry[order[pick]])


def rows_differ(a: np.ndarray, b: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
    """Per row, whether row i of `a` differs from row i of `b` (row `at[i]` if given): a
    column at a time, since `(a != b).any(axis=1)` over (n, k) words is several times slower."""
    diff = a[:, 0] != (b[:, 0] if at is None else b[at, 0])
    for j in range(1, a.shape[1]):
        diff |= a[:, j] != (b[:, j] if at is None else b[at, j])
    return diff  # type: ignore[no-any-return]


def _group_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An order of the rows of `x` in which equal rows are adjacent, and per adjacent pair in
    that order whether the second starts a new group. Several words: sorted by a 64-bit hash
    of the row (one argsort, several times faster than a lexsort over the columns); where two
    different rows share a hash, which could interleave them, by lexsort."""
    if x.shape[1] == 1:
        order = np.argsort(x[:, 0])
        xs = x[order, 0]
        return order, xs[1:] != xs[:-1]  # type: ignore[return-value]
    h = row_hash(x)
    order = np.argsort(h)
    xs = np.take(x, order, axis=0)  # np.take: several times faster than x[order] on (m, k) rows
    fresh = rows_differ(xs[1:], xs[:-1])
    hs = h[order]
    if (fresh & (hs[1:] == hs[:-1])).any():  # a hash collision between different rows
        order = np.lexsort(x.T[::-1])
        xs = np.take(x, order, axis=0)
        fresh = rows_differ(xs[1:], xs[:-1])
    return order, fresh


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
    saver: Saver | None = None,
    resumed: Resumed | None = None,
) -> Searched:
    """Breadth-first search from the distinct initial states `init` (their enumeration may
    have stopped already: `stop`), or on from where a checkpoint left it (`resumed`: its
    store, transitions, tally and cursor; `init` and `record` are not read then). `saver`
    is shown every chunk boundary and writes checkpoints."""
    if resumed is not None:
        store, tally, edge_parts = resumed.store, resumed.tally, resumed.edge_parts
        at = resumed.cursor
    else:
        store, tally, edge_parts = Store(k, record), Tally(gm), []
        store.append(to_words(init, k), np.full(len(init), -1, dtype=np.int64), np.full(len(init), -1, dtype=np.int32))
        tally.check(backend, store.states[: store.n], 0)
        at = Cursor(0, 0, store.n, 0)
    level = _Level(gm, store, backend, store.numbered)  # a resumed search records as its checkpoint did
    depth, level_start, level_end, lo = at.depth, at.level_start, at.level_end, at.pos
    if saver is not None:
        saver.boundary(store, tally, at, edge_parts)
    try:
        while level_start < level_end and stop is None:
            if budget.max_depth is not None and depth >= budget.max_depth:
                stop = Stop(StopKind.DEPTH, budget.max_depth)
                break
            while lo < level_end:
                hi = min(lo + backend.chunk, level_end)
                limit = None if budget.max_states is None else budget.max_states - store.n
                ch = level.expand(lo, hi, limit)
                if ch.cut is not None:  # the budget reached where the chunk was put into the visited set
                    if lo + ch.cut < hi:
                        hi = lo + ch.cut
                        ch.exp = backend.expand(store.states[lo:hi])  # what the tally counts: those lanes
                    stop = Stop(StopKind.STATES, budget.max_states)
                elif not ch.known and budget.max_states is not None and store.n + ch.new.shape[0] >= budget.max_states:
                    # stop after the first state whose successors reach the budget
                    c = budget.max_states - store.n
                    last = lo if c <= 0 else int(ch.src[c - 1])
                    hi = last + 1
                    ch = level.expand(lo, hi)
                    stop = Stop(StopKind.STATES, budget.max_states)
                start = store.n
                store.append(ch.new, ch.src, ch.iid, ch.at, ch.known)
                if ch.edges is not None:
                    edge_parts.append(ch.edges)
                tally.check(backend, store.states[start : store.n], start)
                tally.add(ch.exp, lo)
                lo = hi
                if saver is not None:
                    saver.boundary(store, tally, Cursor(depth, level_start, level_end, lo), edge_parts)
                if stop is not None:
                    break
                stop = clock.check(store.n, tally.transitions, depth, level_end - lo)
                if stop is not None:
                    break
            if stop is not None:
                break
            depth += 1
            level_start, level_end = level_end, store.n
            lo = level_start
            if saver is not None:
                saver.boundary(store, tally, Cursor(depth, level_start, level_end, lo), edge_parts)
    except KeyboardInterrupt:
        stop = INTERRUPTED
    if saver is not None:
        saver.close(stop)  # at the last boundary: a chunk a Ctrl-C cut short is expanded again on resume
    if level_start >= level_end and depth > 0:
        depth -= 1  # the last level expanded had no new states
    ex = Exploration(gm, comp)
    ex.states, ex.parent, ex.action, ex.index = store.views()  # type: ignore[assignment]
    ex.complete = stop is None
    if store.numbered and stop is None:
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
