"""The transitions of a complete search as `Edges`, and per-state property masks as numpy
arrays: what liveness reads. A search that recorded its transitions hands them over as
`exploration.edges`; otherwise they are rebuilt here by expanding the reached states again,
a chunk at a time (numpy kernels where the model fits them, else the compiled successor
function), into preallocated arrays. No per-state Python objects are kept."""

from __future__ import annotations

import time
from array import array
from dataclasses import replace
from typing import Any

import numpy as np

from ..edges import Edges
from ..graph import successors

CHUNK = 1 << 15  # states per kernel call, as in the frontier search
_MUL = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = np.uint64((1 << 64) - 1)


class StateIndex:
    """Packed state -> BFS number for whole arrays of states: an open-addressing hash table
    (about 70 ns a lookup at 11 M states, against 1.6 us for a binary search, whose random
    accesses miss the cache)."""

    def __init__(self, states: np.ndarray) -> None:
        n = states.shape[0]
        bits = max(4, (2 * n).bit_length())
        self.shift = np.uint64(64 - bits)
        self.mask = np.uint64((1 << bits) - 1)
        self.keys = np.full(1 << bits, _EMPTY, dtype=np.uint64)
        self.vals = np.zeros(1 << bits, dtype=np.int64 if n >= 2**31 else np.int32)
        self.ones = -1  # the all-ones state cannot live in the table: its number, if reached
        x = states
        num = np.arange(n, dtype=self.vals.dtype)
        ones = np.flatnonzero(x == _EMPTY)
        if ones.shape[0]:
            self.ones = int(ones[0])
            keep = x != _EMPTY
            x, num = x[keep], num[keep]
        h = (x * _MUL) >> self.shift
        while x.shape[0]:
            free = self.keys[h] == _EMPTY
            self.keys[h[free]] = x[free]  # several may claim a slot: one wins, the others probe on
            won = self.keys[h] == x
            self.vals[h[won]] = num[won]
            go = ~won
            x, num, h = x[go], num[go], (h[go] + np.uint64(1)) & self.mask

    def lookup(self, x: np.ndarray) -> np.ndarray:
        """The numbers of states that are all in the index."""
        out = np.empty(x.shape[0], dtype=np.int64)
        pend = np.arange(x.shape[0])
        if self.ones >= 0:
            o = x == _EMPTY
            out[o] = self.ones
            pend = pend[~o]
        xs = x[pend]
        h = (xs * _MUL) >> self.shift
        while pend.shape[0]:
            k = self.keys[h]
            hit = k == xs
            out[pend[hit]] = self.vals[h[hit]]
            if (k[~hit] == _EMPTY).any():
                raise AssertionError("a successor of a reached state was not reached")
            go = ~hit
            pend, xs, h = pend[go], xs[go], (h[go] + np.uint64(1)) & self.mask
        return out


class OutOfTime(Exception):
    """The time budget ran out; the message says where ("while recording ...")."""


def state_array(ex: Any) -> np.ndarray | None:
    """The reached states as uint64 in BFS order, or None when a state takes more than 64 bits."""
    if ex.compiled.layout.bits > 64:
        return None
    if isinstance(ex.states, np.ndarray):
        return ex.states.astype(np.uint64, copy=False)
    arr = getattr(ex.states, "arr", None)  # the frontier search's states are a numpy array already
    if arr is not None:
        return np.asarray(arr[: len(ex.states)], dtype=np.uint64)
    return np.fromiter(ex.states, dtype=np.uint64, count=len(ex.states))


def _kernels(gm: Any, layout: Any) -> Any:
    from ..kernels import Unsupported, compile_kernels

    try:
        return compile_kernels(gm, layout)
    except Unsupported:
        return None


def search_edges(ex: Any, transitions: int, deadline: float | None = None) -> Edges:
    """The exploration's transitions: recorded by the search when it did, else rebuilt.
    Raises OutOfTime past `deadline` (a time.perf_counter() value)."""
    recorded = getattr(ex, "edges", None)
    if recorded is not None:
        return recorded  # type: ignore[no-any-return]
    states = state_array(ex)
    kern = _kernels(ex.ground, ex.compiled.layout) if states is not None else None
    if states is None or kern is None:
        return _rebuild_single(ex, transitions, deadline)
    return _rebuild_kernels(ex, states, kern, transitions, deadline)


def _rebuild_single(ex: Any, transitions: int, deadline: float | None) -> Edges:
    n = len(ex.states)
    offsets = np.zeros(n + 1, dtype=np.int64)
    succ = array("q")
    inst = array("l")
    comp, index = ex.compiled, ex.index
    for i, s in enumerate(ex.states):
        if deadline is not None and i & 4095 == 0 and time.perf_counter() > deadline:
            raise OutOfTime(f"while recording the state graph ({i:,} states in)")
        for iid, t in successors(comp, s):
            succ.append(index[t])
            inst.append(iid)
        offsets[i + 1] = len(succ)
    return Edges(offsets, np.frombuffer(succ, dtype=np.int64).copy(), np.asarray(inst, dtype=np.int32))


def _rebuild_kernels(ex: Any, states: np.ndarray, kern: Any, transitions: int, deadline: float | None) -> Edges:
    n = states.shape[0]
    ninst = len(ex.ground.instances)
    index = StateIndex(states)
    offsets = np.zeros(n + 1, dtype=np.int64)
    # successor indices as int32 where the states fit, instances as int16 where they fit: half
    # the memory per transition (every reader takes any integer width)
    succ = np.empty(transitions, dtype=np.int32 if n < 2**31 else np.int64)
    inst = np.empty(transitions, dtype=np.int16 if ninst < 2**15 else np.int32)
    filled = 0
    comp = ex.compiled
    for lo in range(0, n, CHUNK):
        if deadline is not None and time.perf_counter() > deadline:
            raise OutOfTime(f"while recording the state graph ({lo:,} states in)")
        hi = min(lo + CHUNK, n)
        S = states[lo:hi]
        lane_err, _, _, outs = kern.successors(S)
        srcs = [o[1] for o in outs]
        iids = [np.full(o[1].shape[0], o[0], dtype=np.int64) for o in outs]
        nxts = [o[2] for o in outs]
        if lane_err.any():
            # lanes that may fail go through the exact single-state function, as in the search
            ok = ~lane_err
            keep = [ok[s] for s in srcs]
            srcs = [s[k] for s, k in zip(srcs, keep, strict=True)]
            iids = [x[k] for x, k in zip(iids, keep, strict=True)]
            nxts = [x[k] for x, k in zip(nxts, keep, strict=True)]
            fb = [(lane, i, t) for lane in np.flatnonzero(lane_err).tolist() for i, t in successors(comp, int(S[lane]))]
            if fb:
                srcs.append(np.array([x[0] for x in fb], dtype=np.int64))
                iids.append(np.array([x[1] for x in fb], dtype=np.int64))
                nxts.append(np.array([x[2] for x in fb], dtype=np.uint64))
        if not srcs:
            offsets[lo + 1 : hi + 1] = filled
            continue
        src = np.concatenate(srcs).astype(np.int64, copy=False)
        iid = np.concatenate(iids)
        nxt = np.concatenate(nxts).astype(np.uint64, copy=False)
        # the search's order: by source state, then instance
        by = np.argsort(src * ninst + iid, kind="stable")
        src, iid, nxt = src[by], iid[by], nxt[by]
        k = src.shape[0]
        if filled + k > transitions:
            raise AssertionError("more transitions than the search counted")
        succ[filled : filled + k] = index.lookup(nxt)
        inst[filled : filled + k] = iid
        counts = np.bincount(src, minlength=hi - lo)
        offsets[lo + 1 : hi + 1] = filled + np.cumsum(counts)
        filled += k
    if filled != transitions:
        raise AssertionError("fewer transitions than the search counted")
    return Edges(offsets, succ, inst)


def property_masks(ex: Any, states: np.ndarray | None, exprs: list[Any]) -> list[np.ndarray]:
    """Per ground expression: bool per state, in one pass over the states. Only these
    expressions are compiled (the model's invariants are not evaluated again)."""
    from ..codegen import compile_model

    gm = ex.ground
    if not exprs:
        return []
    p0 = gm.properties[0][0]
    # the value masks of invariants are what both compilers give for a list of expressions; one
    # instance is kept because the generated successor function needs a body
    reduced = replace(
        gm, instances=gm.instances[:1], properties=[(replace(p0, kind="invariant"), e, None) for e in exprs]
    )
    out = [np.zeros(len(ex.states), dtype=np.bool_) for _ in exprs]
    exact = compile_model(reduced).props
    kern = _kernels(reduced, ex.compiled.layout) if states is not None else None
    if kern is None or states is None:
        masks = np.fromiter((exact(s) for s in ex.states), dtype=object, count=len(ex.states))
        for j, o in enumerate(out):
            o[:] = (masks >> j) & 1 == 1
        return out
    for lo in range(0, states.shape[0], CHUNK * 4):
        S = states[lo : lo + CHUNK * 4]
        lane_err, vals = kern.invariants(S)
        for o, v in zip(out, vals, strict=True):
            o[lo : lo + S.shape[0]] = v
        for lane in np.flatnonzero(lane_err).tolist():
            m = exact(int(S[lane]))
            for j, o in enumerate(out):
                o[lo + lane] = m >> j & 1
    return out
