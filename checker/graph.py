"""The reached state graph as a networkx DiGraph, built on demand after a complete search for
small graphs only (the tests' liveness oracle; liveness itself reads arrays, checker.liveness).
Nodes are packed states; an edge u -> v carries `inst`, the tuple of action instance ids that lead from u to v (the
attribute dicts are shared between edges: treat the graph as read-only).

networkx is imported lazily: it costs ~140 ms and most checks never need it."""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any

from .memory import available_bytes, size_text
from .search.backends import successors

if TYPE_CHECKING:
    from .search import Exploration

# Measured on ref_sbm B=3 S=3 L=2 (tests/bench/liveness_bench.py): 389,610 states and
# 6.7 M edges peak at 1.14 GB, i.e. ~120 B per edge (two adjacency entries; attribute
# dicts are shared) and ~1000 B per state (three node dicts plus the liveness check's sets).
NODE_BYTES, EDGE_BYTES = 1000, 120


class GraphTooLarge(Exception):
    """The graph would exceed the state limit or the memory available (never built), or
    the time budget ran out while building it."""


def estimate_bytes(states: int, transitions: int) -> int:
    return states * NODE_BYTES + transitions * EDGE_BYTES


def check_size(states: int, transitions: int, max_states: int | None) -> None:
    """Raise GraphTooLarge with a message that says what to do, before any allocation."""
    need = estimate_bytes(states, transitions)
    if max_states is not None and states > max_states:
        raise GraphTooLarge(
            f"the state graph has {states:,} states, above the limit of {max_states:,} for a networkx graph "
            f"(about {size_text(need)} of memory)"
        )
    avail = available_bytes()
    if avail is not None and need > avail * 0.8:
        raise GraphTooLarge(
            f"the state graph ({states:,} states, {transitions:,} transitions) needs about {size_text(need)} "
            f"of memory but only {size_text(avail)} is available"
        )


def build_graph(
    ex: Exploration,
    max_states: int | None = None,
    transitions: int | None = None,
    deadline: float | None = None,
) -> Any:
    """The DiGraph of every state the exploration reached. Raises GraphTooLarge above the limit
    or past `deadline` (a time.perf_counter() value). A state without successors (a
    deadlock) has no out-edge; callers treat it as stuttering."""
    import networkx as nx

    n = len(ex.states)
    check_size(n, transitions if transitions is not None else n * 8, max_states)
    g = nx.DiGraph()
    g.add_nodes_from(ex.states)
    # filling the adjacency dicts directly is 3x faster than add_edge for millions of edges;
    # successor and predecessor entries share one attribute dict, as add_edge does
    adj, pred = g._adj, g._pred
    comp = ex.compiled
    # edges with the same instances share one attribute dict: half the memory of a dict per
    # edge. The graph is read-only: never update an edge's attributes in place.
    single = [{"inst": (i,)} for i in range(len(ex.ground.instances))]
    multi: dict[tuple[int, ...], dict[str, tuple[int, ...]]] = {}
    # millions of new dicts would trigger the cyclic collector over and over (none are cyclic)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for n_done, s in enumerate(ex.states):
            if deadline is not None and n_done & 4095 == 0 and time.perf_counter() > deadline:
                raise GraphTooLarge(f"the time budget ran out while building the state graph ({n_done:,} states in)")
            out = adj[s]
            for iid, t in successors(comp, s):
                e = out.get(t)
                if e is None:
                    out[t] = pred[t][s] = single[iid]
                else:
                    key = e["inst"] + (iid,)
                    d = multi.get(key)
                    if d is None:
                        d = multi[key] = {"inst": key}
                    out[t] = pred[t][s] = d
    finally:
        if was_enabled:
            gc.enable()
    return g
