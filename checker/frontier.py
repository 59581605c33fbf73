"""Frontier engine: breadth-first search a chunk of a level at a time with numpy kernels.

States get exactly the numbers the single-state path gives them: a chunk's successors are
ordered by (source state, instance) and a new state is kept at its first occurrence, which
is the order in which `explicit.explore` discovers states. Parents and instance ids are kept
per state, so counts, depth, coverage and shortest traces are identical to that path, which
remains the oracle. Lanes where a kernel reports a possible runtime error are expanded with
the single-state successor function, so range violations behave exactly as there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from model import typed as T
from model.errors import Span, SpecError
from model.ground import Ground

from .codegen import Compiled, StepError
from .edges import Edges
from .explicit import (
    Budget,
    Exploration,
    Findings,
    Pacer,
    Progress,
    _Stop,
    _successors_skipping,
    finish,
    initial_states,
)
from .kernels import Kernels, Unsupported, compile_kernels, words
from .results import RunResult

CHUNK = 1 << 15  # lanes per kernel call: big enough to amortise numpy, small enough for cache
_WORD = (1 << 64) - 1
_MUL = np.uint64(0x9E3779B97F4A7C15)


def frontier_kernels(gm: Ground, comp: Compiled, forced: bool = False) -> Kernels | None:
    """The kernels for a model, or None when the single-state path must run it."""
    try:
        return compile_kernels(gm, comp.layout)
    except Unsupported as exc:
        if forced:
            msg = f"--kernel frontier cannot run this model: {exc} (use --kernel single or auto)"
            raise SpecError(msg, Span(gm.model.path, 0, 0)) from None
        return None


class Visited:
    """An open-addressing hash set of k-word states (rows of a (n, k) uint64 array), probed
    and filled a whole array at a time; with `values`, a map from each state to its BFS index
    (what recorded transitions need). 9 bytes a slot for one word without values."""

    def __init__(self, bits: int = 16, k: int = 1, values: bool = False) -> None:
        self.k, self.values = k, values
        self._alloc(bits)
        self.count = 0

    def _alloc(self, bits: int) -> None:
        self.bits = bits
        self.mask = np.uint64((1 << bits) - 1)
        # one column per word: a probe compares k 1-D gathers, cheaper than one (n, k) gather
        self.keys = [np.zeros(1 << bits, dtype=np.uint64) for _ in range(self.k)]
        self.used = np.zeros(1 << bits, dtype=np.bool_)
        self.vals = np.zeros(1 << bits, dtype=np.int64) if self.values else None
        # several words: which lane claims a free slot is decided in one 1-D write
        self.owner = np.zeros(1 << bits, dtype=np.int32) if self.k > 1 else None

    def _hash(self, cols: list[np.ndarray]) -> np.ndarray:
        h = cols[0] * _MUL
        for c in cols[1:]:
            h = (h ^ c) * _MUL
        return h >> np.uint64(64 - self.bits)  # type: ignore[no-any-return]

    def _equal(self, h: np.ndarray, cols: list[np.ndarray]) -> np.ndarray:
        eq = self.keys[0][h] == cols[0]
        for j in range(1, self.k):
            eq &= self.keys[j][h] == cols[j]
        return eq  # type: ignore[no-any-return]

    def _slots(self, x: np.ndarray) -> np.ndarray:
        """Each row's slot, -1 where the row is not in the set."""
        cols = [np.ascontiguousarray(x[:, j]) for j in range(self.k)]
        h = self._hash(cols)
        occ = self.used[h]
        eq = occ & self._equal(h, cols)
        res = np.where(eq, h.astype(np.int64), -1)
        go = occ & ~eq
        if go.any():  # collisions: probe on, for the few lanes that need it
            pend = np.flatnonzero(go)
            cols, h = [c[pend] for c in cols], (h[pend] + np.uint64(1)) & self.mask
            while pend.size:
                occ = self.used[h]
                eq = occ & self._equal(h, cols)
                res[pend[eq]] = h[eq].astype(np.int64)
                go = occ & ~eq
                pend, h = pend[go], (h[go] + np.uint64(1)) & self.mask
                cols = [c[go] for c in cols]
        return res  # type: ignore[no-any-return]

    def contains(self, x: np.ndarray) -> np.ndarray:
        return self._slots(x) >= 0  # type: ignore[no-any-return]

    def lookup(self, x: np.ndarray) -> np.ndarray:
        """Each row's value (a map with `values`), -1 where the row is not in it."""
        assert self.vals is not None
        slot = self._slots(x)
        return np.where(slot >= 0, self.vals[np.maximum(slot, 0)], -1)  # type: ignore[no-any-return]

    def insert(self, x: np.ndarray, vals: np.ndarray | None = None) -> None:
        """Add distinct rows that are not in the set yet (with their values, for a map)."""
        if self.values:
            assert vals is not None
        self._insert([np.ascontiguousarray(x[:, j]) for j in range(self.k)], vals)

    def _insert(self, cols: list[np.ndarray], vals: np.ndarray | None) -> None:
        n = cols[0].shape[0]
        if (self.count + n) * 2 > 1 << self.bits:
            return self._grow(cols, vals)
        self.count += n
        h = self._hash(cols)
        lanes = np.arange(n, dtype=np.int32)
        while h.size:
            free = np.flatnonzero(~self.used[h])
            hf = h[free]
            if self.owner is None:  # one word: the key that lands in the slot is the owner
                self.keys[0][hf] = cols[0][free]
                won = free[self.keys[0][hf] == cols[0][free]]
            else:  # one owner per slot gets every column; the others probe on
                self.owner[hf] = lanes[free]
                won = free[self.owner[hf] == lanes[free]]
                for j in range(self.k):
                    self.keys[j][h[won]] = cols[j][won]
            hw = h[won]
            self.used[hw] = True
            if self.vals is not None and vals is not None:
                self.vals[hw] = vals[won]
            lost = np.ones(h.shape[0], dtype=np.bool_)
            lost[won] = False
            go = np.flatnonzero(lost)
            cols, h, lanes = [c[go] for c in cols], (h[go] + np.uint64(1)) & self.mask, lanes[go]
            if vals is not None:
                vals = vals[go]
        return None

    def _grow(self, cols: list[np.ndarray], vals: np.ndarray | None) -> None:
        old = [col[self.used] for col in self.keys]
        old_vals = self.vals[self.used] if self.vals is not None else None
        need = self.count + cols[0].shape[0]
        bits = self.bits
        while need * 2 > 1 << bits:
            bits += 1
        self._alloc(bits)  # the old table is freed here: only the copies of its keys remain
        self.count = 0
        self._insert(old, old_vals)
        del old, old_vals
        self._insert(cols, vals)


def to_words(states: list[int], k: int) -> np.ndarray:
    """Packed states (Python ints) as rows of k 64-bit words, least significant word first."""
    out = np.zeros((len(states), k), dtype=np.uint64)
    for j in range(k):
        out[:, j] = [(s >> (64 * j)) & _WORD for s in states]
    return out


def to_int(row: np.ndarray) -> int:
    """One row of words as the packed state (a Python int)."""
    v = 0
    for j, w in enumerate(row.tolist()):
        v |= int(w) << (64 * j)
    return v


class _Ints:
    """A read-only view of the first `n` entries of a numpy array as Python ints."""

    def __init__(self, arr: np.ndarray, n: int) -> None:
        self.arr, self.n = arr, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self._at(i)

    def _at(self, i: int) -> int:
        return int(self.arr[i])

    def __iter__(self) -> Iterator[int]:
        return iter(self.arr[: self.n].tolist())


class _Packed(_Ints):
    """The first `n` rows of a (cap, k) word array as packed states (Python ints)."""

    def _at(self, i: int) -> int:
        return to_int(self.arr[i])

    def __iter__(self) -> Iterator[int]:
        cols = [self.arr[: self.n, j].tolist() for j in range(self.arr.shape[1])]
        if len(cols) == 1:
            return iter(cols[0])
        out = cols[0]
        for j, col in enumerate(cols[1:], 1):
            out = [a | (b << (64 * j)) for a, b in zip(out, col, strict=True)]
        return iter(out)


class _Index(Mapping[int, int]):
    """state -> BFS position: a binary search in a sorted copy (one word), a dict (more),
    built on first use."""

    def __init__(self, states: np.ndarray) -> None:
        self.states = states  # (n, k)
        self._order: np.ndarray | None = None
        self._dict: dict[int, int] | None = None

    def _lookup(self, s: int) -> int:
        if self.states.shape[1] > 1:
            if self._dict is None:
                self._dict = {v: i for i, v in enumerate(_Packed(self.states, self.states.shape[0]))}
            return self._dict.get(s, -1)
        if self._order is None:
            self._order = np.argsort(self.states[:, 0], kind="stable")
            self._sorted = self.states[self._order, 0]
        if not 0 <= s < 1 << 64:
            return -1
        k = int(np.searchsorted(self._sorted, np.uint64(s)))
        if k < self._sorted.shape[0] and int(self._sorted[k]) == s:
            return int(self._order[k])
        return -1

    def __getitem__(self, s: int) -> int:
        i = self._lookup(s)
        if i < 0:
            raise KeyError(s)
        return i

    def __contains__(self, s: object) -> bool:
        return isinstance(s, int) and self._lookup(s) >= 0

    def __len__(self) -> int:
        return int(self.states.shape[0])

    def __iter__(self) -> Iterator[int]:
        return iter(_Packed(self.states, self.states.shape[0]))


@dataclass
class _Chunk:
    """The outcome of expanding lanes [lo, hi) of the state array, before it is committed."""

    new: np.ndarray  # new states in discovery order
    src: np.ndarray  # their parents (global indices)
    iid: np.ndarray  # the instance that reached each
    transitions: int
    inst_counts: np.ndarray
    act_counts: list[int]
    dead: int  # first state without successors, or -1
    range_err: tuple[int, int, str] | None
    err_fired: list[int]  # instances that raised a runtime error
    edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # per-state counts, successor, instance


class _Search:
    def __init__(self, gm: Ground, comp: Compiled, kern: Kernels, record: bool) -> None:
        self.gm, self.comp, self.kern, self.record = gm, comp, kern, record
        self.ninst = len(gm.instances)
        self.actions = list(dict.fromkeys(inst.action for inst in gm.instances))
        self.act_of = np.array([self.actions.index(i.action) for i in gm.instances], dtype=np.int64)
        self.k = words(comp.layout)
        self.cap = 1 << 16
        self.states = np.zeros((self.cap, self.k), dtype=np.uint64)
        self.parent = np.zeros(self.cap, dtype=np.int64)
        self.action = np.zeros(self.cap, dtype=np.int32)
        self.n = 0
        self.visited = Visited(k=self.k, values=record)

    def append(self, new: np.ndarray, src: np.ndarray, iid: np.ndarray) -> None:
        k = new.shape[0]
        if self.n + k > self.cap:
            while self.n + k > self.cap:
                self.cap *= 2
            for name in ("states", "parent", "action"):
                old = getattr(self, name)
                arr = np.zeros((self.cap, *old.shape[1:]), dtype=old.dtype)
                arr[: self.n] = old[: self.n]
                setattr(self, name, arr)
        self.states[self.n : self.n + k] = new
        self.parent[self.n : self.n + k] = src
        self.action[self.n : self.n + k] = iid
        self.n += k
        self.visited.insert(new, np.arange(self.n - k, self.n, dtype=np.int64) if self.record else None)

    def expand(self, lo: int, hi: int) -> _Chunk:
        S = self.states[lo:hi]
        lane_err, any_en, act_en, outs = self.kern.successors(S)
        srcs = [o[1] for o in outs]
        iids = [o[0] for o in outs]
        nxts = [o[2] for o in outs]
        act_counts = [0] * len(self.actions)
        dead = -1
        range_err = None
        err_fired: list[int] = []
        if lane_err.any():
            bad = np.flatnonzero(lane_err)
            keep_lane = ~lane_err
            ks = [keep_lane[s] for s in srcs]
            srcs, nxts = [s[k] for s, k in zip(srcs, ks, strict=True)], [x[k] for x, k in zip(nxts, ks, strict=True)]
            fb_src: list[int] = []
            fb_iid: list[int] = []
            fb_nxt: list[int] = []
            for lane in bad.tolist():
                s = to_int(S[lane])
                try:
                    succ = self.comp.successors(s)
                except StepError as exc:
                    if range_err is None:
                        range_err = (lo + lane, exc.iid, exc.message)
                    err_fired.append(exc.iid)
                    succ = _successors_skipping(self.comp, s, exc.iid)
                if not succ and dead < 0:
                    dead = lo + lane
                for a in {self.act_of[i] for i, _ in succ}:
                    act_counts[a] += 1
                for i, x in succ:
                    fb_src.append(lane)
                    fb_iid.append(i)
                    fb_nxt.append(x)
            for i in range(self.ninst):  # one run per instance, like the kernel outputs
                sel = [j for j, x in enumerate(fb_iid) if x == i]
                if sel:
                    iids.append(i)
                    srcs.append(np.array([fb_src[j] for j in sel], dtype=np.int64))
                    nxts.append(to_words([fb_nxt[j] for j in sel], self.k))
            any_en = any_en | lane_err
            act_en = [a & keep_lane for a in act_en]
        if not any_en.all():
            d = int(np.argmin(any_en)) + lo
            dead = d if dead < 0 else min(dead, d)
        for a, m in enumerate(act_en):
            act_counts[a] += int(np.count_nonzero(m))
        counts = np.array([x.shape[0] for x in nxts], dtype=np.int64)
        inst_counts = np.zeros(self.ninst, dtype=np.int64)
        np.add.at(inst_counts, np.array(iids, dtype=np.int64), counts)
        if not nxts:
            nxts, srcs, iids = [np.zeros((0, self.k), np.uint64)], [np.zeros(0, np.int64)], [0]
            counts = np.zeros(1, np.int64)
        src = np.concatenate(srcs)
        nxt = np.concatenate(nxts)
        iid = np.repeat(np.array(iids, dtype=np.int64), counts)
        # self-loops and states seen before are not new
        moved = (nxt[:, 0] != S[src, 0]) if self.k == 1 else (nxt != S[src]).any(axis=1)
        keep = np.flatnonzero(moved)
        if self.record:
            seen = self.visited.lookup(nxt[keep])
            target = np.full(src.shape[0], -1, dtype=np.int64)  # each transition's successor index
            target[~moved] = src[~moved] + lo
            target[keep] = seen
            keep = keep[seen < 0]
        else:
            keep = keep[~self.visited.contains(nxt[keep])]
        nsrc, niid, nnxt = src[keep], iid[keep], nxt[keep]
        # keep each new state's first occurrence in (parent, instance) order: the smallest key
        key = nsrc * self.ninst + niid
        order = np.argsort(nnxt[:, 0]) if self.k == 1 else np.lexsort(nnxt.T[::-1])
        sn, sk = nnxt[order], key[order]
        fresh = (sn[1:] != sn[:-1]).any(axis=1)
        starts = np.flatnonzero(np.concatenate(([True], fresh))) if sn.size else order
        firstkey = np.minimum.reduceat(sk, starts) if sn.size else sk
        by_key = np.argsort(firstkey)
        firstkey = firstkey[by_key]
        edges = None
        if self.record:
            # a new state's number: the rank of its group in discovery order, after the states so far
            group = np.empty(sn.shape[0], dtype=np.int64)
            group[order] = np.cumsum(np.concatenate(([0], fresh))) if sn.size else order
            rank = np.empty(by_key.shape[0], dtype=np.int64)
            rank[by_key] = np.arange(by_key.shape[0])
            target[keep] = self.n + rank[group]
            o = np.lexsort((iid, src))  # per source state, in instance order
            edges = (np.bincount(src, minlength=hi - lo), target[o], iid[o].astype(np.int32))
        return _Chunk(
            sn[starts][by_key],
            firstkey // self.ninst + lo,
            (firstkey % self.ninst).astype(np.int32),
            int(inst_counts.sum()),
            inst_counts,
            act_counts,
            dead,
            range_err,
            err_fired,
            edges,
        )


def explore_frontier(
    model: T.Model,
    gm: Ground,
    comp: Compiled,
    kern: Kernels,
    budget: Budget,
    check_deadlock: bool,
    progress: Callable[[Progress], None] | None,
    progress_every: float,
    t0: float,
    record_edges: bool = False,
) -> tuple[RunResult, Exploration]:
    lay = comp.layout
    se = _Search(gm, comp, kern, record_edges)
    edge_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    pacer = Pacer(t0, budget.timeout, progress, progress_every, budget.max_memory)
    init, stopped = initial_states(gm, lay, budget, pacer)
    inv_n = sum(1 for p in model.properties if p.kind == "invariant")
    reach_n = sum(1 for p in model.properties if p.kind == "reachable")
    inv_found: dict[int, int] = {}
    reach_found: dict[int, int] = {}
    fired = bytearray(se.ninst)
    inst_trans = np.zeros(se.ninst, dtype=np.int64)
    act_total = [0] * len(se.actions)
    dead_at = -1
    range_err: tuple[int, int, str] | None = None
    transitions = 0

    def check_props(lo: int, hi: int) -> None:
        if len(inv_found) < inv_n:
            _first_hits(se.states[lo:hi], lo, kern.invariants, comp.bad_invariants, inv_found, inv_n, True)
        if len(reach_found) < reach_n:
            _first_hits(se.states[lo:hi], lo, kern.reached, comp.reached, reach_found, reach_n, False)

    se.append(to_words(init, se.k), np.full(len(init), -1, dtype=np.int64), np.full(len(init), -1, dtype=np.int32))
    check_props(0, se.n)
    depth = 0
    level_start, level_end = 0, se.n
    try:
        while level_start < level_end and not stopped:
            if budget.max_depth is not None and depth >= budget.max_depth:
                stopped = f"depth budget {budget.max_depth} reached"
                break
            lo = level_start
            while lo < level_end:
                hi = min(lo + CHUNK, level_end)
                ch = se.expand(lo, hi)
                if budget.max_states is not None and se.n + ch.new.shape[0] >= budget.max_states:
                    # the single-state path stops after the first state whose successors reach the budget
                    c = budget.max_states - se.n
                    last = lo if c <= 0 else int(ch.src[c - 1])
                    hi = last + 1
                    ch = se.expand(lo, hi)
                    stopped = f"state budget {budget.max_states} reached"
                start = se.n
                se.append(ch.new, ch.src, ch.iid)
                if ch.edges is not None:
                    edge_parts.append(ch.edges)
                check_props(start, se.n)
                transitions += ch.transitions
                inst_trans += ch.inst_counts
                for i in np.flatnonzero(ch.inst_counts).tolist() + ch.err_fired:
                    fired[i] = 1
                for a, c in enumerate(ch.act_counts):
                    act_total[a] += c
                if ch.dead >= 0 and dead_at < 0:
                    dead_at = ch.dead
                if ch.range_err is not None and range_err is None:
                    range_err = ch.range_err
                if stopped:
                    raise _Stop
                lo = hi
                stopped = pacer.check(se.n, transitions, depth, level_end - lo)
                if stopped:
                    raise _Stop
            depth += 1
            level_start, level_end = level_end, se.n
    except _Stop:
        pass
    except KeyboardInterrupt:
        stopped = "interrupted"
    secs = time.perf_counter() - t0
    if level_start >= level_end and depth > 0:
        depth -= 1  # the last level expanded had no new states
    if not check_deadlock:
        dead_at = -1
    ex = Exploration(gm, comp)
    states = se.states[: se.n]
    # one word: a 1-D array of the states, as readers of `states.arr` (liveness) expect
    ex.states = _Ints(states[:, 0], se.n) if se.k == 1 else _Packed(states, se.n)  # type: ignore[assignment]
    ex.parent = _Ints(se.parent, se.n)  # type: ignore[assignment]
    ex.action = _Ints(se.action, se.n)  # type: ignore[assignment]
    ex.index = _Index(states)  # type: ignore[assignment]
    ex.complete = not stopped
    if record_edges and not stopped:
        ex.edges = edges_of(edge_parts, se.n)
    enabled_states = {a.name: 0 for a in model.actions}
    for act_name, c in zip(se.actions, act_total, strict=True):
        enabled_states[act_name] = c
    found = Findings(
        inv_found, reach_found, dead_at, range_err, fired, inst_trans.tolist(), enabled_states, transitions, depth
    )
    return finish(model, ex, found, stopped, secs, check_deadlock), ex


def edges_of(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], states: int) -> Edges:
    """The CSR transitions from the per-chunk pieces, which cover the states in order."""
    counts = [p[0] for p in parts] or [np.zeros(0, np.int64)]
    offsets = np.zeros(states + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=offsets[1:])
    succ = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    inst = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int32)
    return Edges(offsets, succ, inst)


def _first_hits(
    S: np.ndarray,
    base: int,
    kernel: Callable[[np.ndarray], tuple[np.ndarray, list[np.ndarray]]],
    single: Callable[[int], int],
    found: dict[int, int],
    total: int,
    negate: bool,
) -> None:
    """Record, per property not found yet, the first state of S where it fails (negate) or holds."""
    lane_err, vals = kernel(S)
    hits = [np.logical_not(v) if negate else v.copy() for v in vals]
    if lane_err.any():
        bad = np.flatnonzero(lane_err)
        exact = [single(to_int(S[i])) for i in bad.tolist()]
        for k in range(total):
            hits[k][bad] = [bool(m >> k & 1) for m in exact]
    for k in range(total):
        if k not in found and hits[k].any():
            found[k] = base + int(np.argmax(hits[k]))
