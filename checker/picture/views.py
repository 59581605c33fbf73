"""The pictures a person can read, as `Drawing`s built from a search's states and recorded
transitions (`Edges`):

- `projection`: the reachable graph projected onto some state values (`mb[0]`, `pc`): one
  node per value seen, one arrow per pair of values an action moves between, labelled with
  the actions and how many transitions take them. Works at any size: the values and counts
  are whole-array numpy operations.
- `counterexample`: a trace and the states one step off it.
- `whole`: every state of a small model, counterexamples marked.

A state's label names it fully when the model has few leaves, else the values that tell the
drawn states apart."""

from __future__ import annotations

from typing import Any

import numpy as np

from model import typed as T
from model.domains import format_value

from ..edges import Edges
from ..layout import Layout, Slot
from ..results import VIOLATED, PropertyResult, RunResult
from ..states import model_value
from .drawing import BAD_FILL, DEAD_FILL, Drawing, Edge, Node

FULL_LEAVES = 8  # a state with at most this many leaves is labelled in full
MAX_LINES = 10
MAX_VALUES = 300  # projected nodes beyond this are no picture a person can read
MAX_OFF = 6  # states drawn one step off each trace state
MAX_ACTIONS = 4  # actions named on one arrow


class PictureError(Exception):
    """The picture cannot be made (too many states or values, a bad selector, a bad output name)."""


# ---- state values
def slot_values(layout: Layout, states: Any, slots: list[int]) -> np.ndarray:
    """(states, slots) int64: the stored values (value - lo) of the given leaves."""
    n = len(states)
    out = np.zeros((n, len(slots)), dtype=np.int64)
    arr = states if isinstance(states, np.ndarray) else getattr(states, "arr", None)
    packed = np.asarray(arr[:n], dtype=np.uint64) if arr is not None and layout.bits <= 64 else None
    if packed is None and layout.bits <= 64:
        packed = np.fromiter(states, dtype=np.uint64, count=n)
    for j, i in enumerate(slots):
        sl = layout.slots[i]
        mask = (1 << sl.width) - 1
        if packed is not None:
            out[:, j] = ((packed >> np.uint64(sl.offset)) & np.uint64(mask)).astype(np.int64)
        else:  # wider than 64 bits: Python integers, one state at a time
            out[:, j] = np.fromiter(((s >> sl.offset) & mask for s in states), dtype=np.int64, count=n)
    return out


def leaf_text(sl: Slot, stored: int) -> str:
    return format_value(sl.field.ty, stored + sl.lo)


def state_lines(layout: Layout, states: list[int], head: dict[int, list[str]]) -> dict[int, list[str]]:
    """Labels for a set of states: every leaf when there are few, else those that differ
    between the states drawn."""
    rows = slot_values(layout, states, list(range(len(layout.slots))))
    if len(layout.slots) <= FULL_LEAVES or len(states) < 2:
        shown = list(range(len(layout.slots)))
    else:
        shown = [j for j in range(rows.shape[1]) if (rows[:, j] != rows[0, j]).any()]
    out = {}
    for r, s in enumerate(states):
        text = [f"{layout.slots[j].name}={leaf_text(layout.slots[j], int(rows[r, j]))}" for j in shown]
        if len(text) > MAX_LINES:
            text = text[: MAX_LINES - 1] + [f"… {len(text) - MAX_LINES + 1} more"]
        out[s] = head.get(s, []) + text
    return out


def select(model: T.Model, layout: Layout, exprs: list[str]) -> list[int]:
    """Slot numbers for `--project` selectors: a variable (`pc`, every leaf of `mb`) or an
    element written as in the spec (`mb[0]`, `dev_bm[1]`)."""
    out: list[int] = []
    for raw in exprs:
        sel = "".join(raw.split())
        found = [i for i, sl in enumerate(layout.slots) if sl.name == sel or sl.name.startswith(sel + "[")]
        if not found:
            names = ", ".join(v.name for v in model.vars)
            raise PictureError(f"`{raw}` names no state variable or element of {model.name} (variables: {names})")
        out += [i for i in found if i not in out]
    return out


def pack_json(model: T.Model, layout: Layout, state: dict[str, Any]) -> int | None:
    """A trace step's state packed as the search stores it (None if it does not decode)."""
    leafmap: dict[tuple[str, tuple[int, ...]], object] = {}
    try:
        for sl in layout.slots:
            v = state[sl.field.var]
            for p in sl.field.path:
                v = v[p]
            leafmap[sl.field.key] = model_value(sl.field.ty, v)
        return layout.pack(leafmap)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


# ---- projection
def projection(model: T.Model, ex: Any, edges: Edges, exprs: list[str]) -> Drawing:
    lay = ex.compiled.layout
    slots = select(model, lay, exprs)
    vals = slot_values(lay, ex.states, slots)
    rows, vid = np.unique(vals, axis=0, return_inverse=True)
    vid = vid.reshape(-1)
    nv = rows.shape[0]
    if nv > MAX_VALUES:
        raise PictureError(f"the projection has {nv:,} values: too many to draw (project onto fewer or smaller values)")
    # nodes in the order the search first reached their value: the initial values first
    first = np.full(nv, len(ex.states), dtype=np.int64)
    np.minimum.at(first, vid, np.arange(len(ex.states), dtype=np.int64))
    order = np.argsort(first, kind="stable")
    counts = np.bincount(vid, minlength=nv)
    inits = 0
    while inits < len(ex.states) and ex.parent[inits] < 0:
        inits += 1
    initial = set(vid[:inits].tolist())
    insts = ex.ground.instances
    actions = list(dict.fromkeys(i.action for i in insts))
    act_of = np.array([actions.index(i.action) for i in insts], dtype=np.int64)
    na = len(actions)
    moves = np.zeros(nv * nv * na, dtype=np.int64) if nv * nv * na <= 1 << 24 else None
    sparse: dict[int, int] = {}
    stay = 0
    deg = np.diff(edges.offsets)
    step = 1 << 20
    for lo in range(0, edges.states, step):
        hi = min(lo + step, edges.states)
        a, b = int(edges.offsets[lo]), int(edges.offsets[hi])
        src = np.repeat(vid[lo:hi], deg[lo:hi])
        dst = vid[edges.succ[a:b]]
        act = act_of[edges.inst[a:b]]
        moved = src != dst
        stay += int((~moved).sum())
        key = (src[moved] * nv + dst[moved]) * na + act[moved]
        if moves is not None:
            moves += np.bincount(key, minlength=moves.shape[0])
        else:
            ks, cs = np.unique(key, return_counts=True)
            for k, c in zip(ks.tolist(), cs.tolist(), strict=True):
                sparse[k] = sparse.get(k, 0) + c
    if moves is not None:
        nz = np.flatnonzero(moves)
        sparse = dict(zip(nz.tolist(), moves[nz].tolist(), strict=True))
    names = [lay.slots[i].name for i in slots]
    d = Drawing(
        f"{model.name} [{model.config.name}]: {len(ex.states):,} states projected onto {', '.join(exprs)}",
        note=f"{nv} values; {stay:,} transitions that keep the value are not drawn",
    )
    for v in order.tolist():
        lines = [
            f"{n} = {leaf_text(lay.slots[i], int(x))}" for n, i, x in zip(names, slots, rows[v].tolist(), strict=True)
        ]
        d.nodes.append(Node(f"v{v}", lines + [f"{int(counts[v]):,} states"], initial=v in initial))
    pairs: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for k, c in sparse.items():
        pair, act = divmod(k, na)
        pairs.setdefault(divmod(pair, nv), []).append((c, actions[act]))
    rank = {int(v): r for r, v in enumerate(order.tolist())}
    for (u, v), acts in sorted(pairs.items(), key=lambda x: (rank[x[0][0]], rank[x[0][1]])):
        acts.sort(key=lambda x: (-x[0], x[1]))
        label = [f"{a} ({c:,})" for c, a in acts[:MAX_ACTIONS]]
        if len(acts) > MAX_ACTIONS:
            label.append(f"+{len(acts) - MAX_ACTIONS} more actions")
        d.edges.append(Edge(f"v{u}", f"v{v}", label))
    return d


# ---- counterexamples
def trace_states(model: T.Model, ex: Any, p: PropertyResult) -> list[int | None]:
    """State indices of a trace's steps (None for a state the search did not store, such as
    the state after a failing step)."""
    assert p.trace is not None
    lay = ex.compiled.layout
    out: list[int | None] = []
    for st in p.trace.steps:
        s = pack_json(model, lay, st.state)
        out.append(ex.index.get(s) if s is not None and s in ex.index else None)
    return out


def counterexample(model: T.Model, ex: Any, edges: Edges, p: PropertyResult) -> Drawing:
    if p.trace is None:
        raise PictureError(f"`{p.name}` has no counterexample")
    lay, insts = ex.compiled.layout, ex.ground.instances
    idx = trace_states(model, ex, p)
    steps = p.trace.steps
    key = [f"s{i}" if i is not None else f"t{j}" for j, i in enumerate(idx)]
    on = {i for i in idx if i is not None}
    trace_pairs = {(key[j], key[j + 1]) for j in range(len(steps) - 1)}
    d = Drawing(f"{model.name} [{model.config.name}]: counterexample to `{p.name}` ({p.kind}), {len(steps)} steps")
    if p.trace.loop is not None:
        d.note = f"steps {p.trace.loop}..{len(steps) - 1} repeat forever; dashed: one step off the trace"
    else:
        d.note = "dashed: states one step off the trace"
    heads: dict[str, list[str]] = {}
    for j, (k, st) in enumerate(zip(key, steps, strict=True)):
        head = heads.setdefault(k, [])
        head.append(f"step {j}" + (f": {st.action}" if st.action else " (initial)"))
    known = [i for i in dict.fromkeys(i for i in idx if i is not None)]
    off: dict[int, list[tuple[int, str]]] = {}  # trace state -> [(successor, instance label)]
    more: dict[int, int] = {}
    for i in known:
        succ, via = edges.out(i)
        seen: dict[int, list[str]] = {}
        for v, iid in zip(succ.tolist(), via.tolist(), strict=True):
            if v not in on:
                seen.setdefault(v, []).append(insts[iid].label)
        items = list(seen.items())
        off[i] = [(v, ", ".join(ls)) for v, ls in items[:MAX_OFF]]
        if len(items) > MAX_OFF:
            more[i] = len(items) - MAX_OFF
    lines = state_lines(lay, [ex.states[i] for i in known], {})
    for k in dict.fromkeys(key):
        si = int(k[1:]) if k[0] == "s" else None
        head = [" / ".join(heads[k][:3]) + (" …" if len(heads[k]) > 3 else "")]
        body = (
            lines[ex.states[si]]
            if si is not None
            else [f"{n}={v}" for n, v in list(steps[int(k[1:])].state.items())[:MAX_LINES]]
        )
        bad = si is not None and ex.compiled.bad_invariants(ex.states[si]) != 0
        d.nodes.append(
            Node(
                k,
                head + body,
                initial=si is not None and ex.parent[si] < 0,
                fill=BAD_FILL if bad else None,
                highlight=True,
            )
        )
    base_rows = {i: slot_values(lay, [ex.states[i]], list(range(len(lay.slots))))[0] for i in known}
    for i in known:
        for v, label in off[i]:
            if f"s{v}" not in {n.key for n in d.nodes}:
                row = slot_values(lay, [ex.states[v]], list(range(len(lay.slots))))[0]
                diff = [j for j in range(len(lay.slots)) if row[j] != base_rows[i][j]]
                text = [f"{lay.slots[j].name}={leaf_text(lay.slots[j], int(row[j]))}" for j in diff[:MAX_LINES]]
                dead = edges.offsets[v + 1] == edges.offsets[v] and not model.allow_deadlock
                fill = BAD_FILL if ex.compiled.bad_invariants(ex.states[v]) else DEAD_FILL if dead else None
                d.nodes.append(Node(f"s{v}", [f"#{v}"] + (text or ["(same values)"]), fill=fill, faint=True))
            d.edges.append(Edge(f"s{i}", f"s{v}", [label], faint=True))
        if i in more:
            d.nodes.append(Node(f"more{i}", [f"+{more[i]} more successors"], faint=True))
            d.edges.append(Edge(f"s{i}", f"more{i}", ["…"], faint=True))
    for j in range(len(steps) - 1):
        a = steps[j + 1]
        label = (
            a.action + ("(" + ", ".join(f"{k}={v}" for k, v in a.args.items()) + ")" if a.args else "")
            if a.action
            else "stutter"
        )
        d.edges.append(Edge(key[j], key[j + 1], [label], highlight=True))
    # transitions between trace states that the trace does not take
    for i in known:
        succ, via = edges.out(i)
        for v in dict.fromkeys(succ.tolist()):
            if v in on and (f"s{i}", f"s{v}") not in trace_pairs:
                labels = [insts[iid].label for w, iid in zip(succ.tolist(), via.tolist(), strict=True) if w == v]
                d.edges.append(Edge(f"s{i}", f"s{v}", [", ".join(labels)], faint=True))
    return d


# ---- the whole graph of a small model
def whole(model: T.Model, ex: Any, edges: Edges, res: RunResult) -> tuple[Drawing, list[str], int]:
    """The drawing, the properties whose counterexamples are marked, the states filled."""
    lay, comp, insts = ex.compiled.layout, ex.compiled, ex.ground.instances
    n = len(ex.states)
    path_nodes: set[int] = set()
    path_edges: set[tuple[int, int]] = set()
    marked = []
    for p in res.properties:
        if p.status != VIOLATED or p.trace is None:
            continue
        seq = trace_states(model, ex, p)
        known = [s for s in seq if s is not None]
        if not known:
            continue
        marked.append(p.name)
        path_nodes.update(known)
        path_edges.update((a, b) for a, b in zip(seq, seq[1:], strict=False) if a is not None and b is not None)
    heads = {ex.states[i]: [f"#{i}" + (" (initial)" if ex.parent[i] < 0 else "")] for i in range(n)}
    lines = state_lines(lay, list(ex.states), heads)
    d = Drawing(f"{model.name} [{model.config.name}]: {n} states")
    bad_states = 0
    for i in range(n):
        s = ex.states[i]
        fill = None
        if comp.bad_invariants(s):
            fill = BAD_FILL
        elif edges.offsets[i + 1] == edges.offsets[i] and not model.allow_deadlock:
            fill = DEAD_FILL
        bad_states += fill is not None
        d.nodes.append(Node(f"s{i}", lines[s], initial=ex.parent[i] < 0, fill=fill, highlight=i in path_nodes))
    for i in range(n):
        succ, via = edges.out(i)
        groups: dict[int, list[str]] = {}
        for v, iid in zip(succ.tolist(), via.tolist(), strict=True):
            groups.setdefault(v, []).append(insts[iid].label)
        for v, labels in groups.items():
            d.edges.append(Edge(f"s{i}", f"s{v}", [", ".join(labels)], highlight=(i, v) in path_edges))
    return d, marked, bad_states
