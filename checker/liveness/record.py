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

CHUNK = 1 << 17  # states per property-kernel call: no successors are made, so more fit the cache


class OutOfTime(Exception):
    """The time budget ran out; the message says where ("while recording ...")."""


def state_words(ex: Any) -> np.ndarray:
    """The reached states as an (n, k) word array in BFS order (the search's store when it
    has one: no copy)."""
    from ..kernels import words
    from ..search.store import to_words

    n = len(ex.states)
    arr = getattr(ex.states, "arr", None)  # the search's store
    if arr is not None:
        return np.asarray(arr[:n], dtype=np.uint64).reshape(n, -1)
    return to_words(list(ex.states), words(ex.compiled.layout))


def _backend(gm: Any, comp: Any) -> Any:
    from ..search.backends import choose

    actions = list(dict.fromkeys(inst.action for inst in gm.instances))
    act_of = np.array([actions.index(i.action) for i in gm.instances], dtype=np.int64)
    return choose(gm, comp, "auto", act_of, len(actions))


def search_edges(ex: Any, transitions: int, deadline: float | None = None) -> Edges:
    """The exploration's transitions: recorded by the search when it did, else rebuilt by
    expanding every reached state again through the search's own backends (numpy kernels
    where the model fits them). Raises OutOfTime past `deadline` (a time.perf_counter() value)."""
    recorded = getattr(ex, "edges", None)
    if recorded is not None:
        return recorded  # type: ignore[no-any-return]
    from ..search.store import Visited

    gm, comp = ex.ground, ex.compiled
    states = state_words(ex)
    n = states.shape[0]
    index = Visited(bits=max(4, (2 * n).bit_length()), k=states.shape[1], values=True)
    index.insert(states, np.arange(n, dtype=np.int64))
    backend = _backend(gm, comp)
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


def property_masks(ex: Any, states: np.ndarray, exprs: list[Any]) -> list[np.ndarray]:
    """Per ground expression: bool per state (false where it fails to evaluate), in one pass
    over the states through the search's backends. Only these expressions are compiled (the
    model's invariants are not evaluated again)."""
    from ..codegen import compile_model

    gm = ex.ground
    if not exprs:
        return []
    p0 = gm.properties[0][0]
    # the expressions as the invariants of a reduced model: a backend's `violated` gives their
    # negations; one instance is kept because the generated successor function needs a body
    reduced = replace(
        gm, instances=gm.instances[:1], properties=[(replace(p0, kind="invariant"), e, None) for e in exprs]
    )
    backend = _backend(reduced, compile_model(reduced))
    out = [np.zeros(states.shape[0], dtype=np.bool_) for _ in exprs]
    for lo in range(0, states.shape[0], CHUNK):
        for o, v in zip(out, backend.violated(states[lo : lo + CHUNK]), strict=True):
            np.logical_not(v, out=o[lo : lo + v.shape[0]])
    return out
