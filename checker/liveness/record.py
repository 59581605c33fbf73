"""The transitions of a complete search as `Edges`, and per-state property masks as numpy
arrays: what liveness reads. A search that recorded its transitions hands them over as
`exploration.edges`; otherwise they are rebuilt here by expanding the reached states again,
a chunk at a time (numpy kernels where the model fits them, else the compiled successor
function), into preallocated arrays. No per-state Python objects are kept."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..edges import Edges

CHUNK = 1 << 15  # states per kernel call, as in the search


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
    """The exploration's transitions: recorded by the search when it did, else rebuilt by
    expanding every reached state again through the search's own backends (numpy kernels
    where the model fits them). Raises OutOfTime past `deadline` (a time.perf_counter() value)."""
    recorded = getattr(ex, "edges", None)
    if recorded is not None:
        return recorded  # type: ignore[no-any-return]
    from ..kernels import words
    from ..search.backends import choose
    from ..search.store import Visited, to_words

    gm, comp = ex.ground, ex.compiled
    k = words(comp.layout)
    n = len(ex.states)
    packed = getattr(ex.states, "arr", None)
    states = np.asarray(packed[:n]).reshape(n, -1) if packed is not None else to_words(list(ex.states), k)
    index = Visited(bits=max(4, (2 * n).bit_length()), k=k, values=True)
    index.insert(states, np.arange(n, dtype=np.int64))
    actions = list(dict.fromkeys(inst.action for inst in gm.instances))
    act_of = np.array([actions.index(i.action) for i in gm.instances], dtype=np.int64)
    backend = choose(gm, comp, "auto", act_of, len(actions))
    offsets = np.zeros(n + 1, dtype=np.int64)
    # successor numbers as int32 where the states fit, instances as int16 where they fit: half
    # the memory per transition (every reader takes any integer width)
    succ = np.empty(transitions, dtype=np.int32 if n < 2**31 else np.int64)
    inst = np.empty(transitions, dtype=np.int16 if len(gm.instances) < 2**15 else np.int32)
    filled = 0
    for lo in range(0, n, backend.chunk):
        if deadline is not None and time.perf_counter() > deadline:
            raise OutOfTime(f"while recording the state graph ({lo:,} states in)")
        hi = min(lo + backend.chunk, n)
        exp = backend.expand(states[lo:hi])
        o = np.lexsort((exp.iid, exp.src))  # the search's order: by source state, then instance
        m = o.shape[0]
        if filled + m > transitions:
            raise AssertionError("more transitions than the search counted")
        found = index.lookup(exp.nxt[o])
        if (found < 0).any():
            raise AssertionError("a successor of a reached state was not reached")
        succ[filled : filled + m] = found
        inst[filled : filled + m] = exp.iid[o]
        offsets[lo + 1 : hi + 1] = filled + np.cumsum(np.bincount(exp.src, minlength=hi - lo))
        filled += m
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
