"""Lasso counterexamples over arrays: a shortest path from an initial state through a trigger
(staying in the allowed region after it) to a fair component, then a cycle inside it that
meets every fairness obligation.

Both searches are breadth-first a whole level at a time, keeping each new node's first
occurrence in (queue position, transition order): exactly the nodes, parents and order a
FIFO queue would give, so the lasso is the same on every run and the same one a
state-at-a-time search finds."""

from __future__ import annotations

import numpy as np

from ..edges import Edges
from .arrays import FairBits, first_occurrence, gather, pieces
from .fair import FairComponents

Path = list[tuple[int, int]]  # (instance or -1, state index)


def prefix(e: Edges, owner: np.ndarray, kind: str, allowed: np.ndarray, trigger: np.ndarray, inits: int) -> Path:
    """Shortest: nodes are (state, phase), phase 1 after the trigger; node id 2*state + phase."""
    n = e.states
    seen = np.zeros(2 * n, dtype=np.bool_)
    parent = np.full(2 * n, -1, dtype=np.int64)
    pinst = np.full(2 * n, -1, dtype=np.int32)
    level_l: list[int] = []
    for s in range(inits):
        if kind != "eventually":
            level_l.append(2 * s)
        if trigger[s]:
            level_l.append(2 * s + 1)
            parent[2 * s + 1] = 2 * s if kind != "eventually" else -1
    level = np.array(level_l, dtype=np.int64)
    seen[level] = True
    end = -1
    while level.shape[0]:
        st, ph = level >> 1, level & 1
        hit = (ph == 1) & (owner[st] >= 0)
        if hit.any():
            end = int(level[int(np.argmax(hit))])
            break
        nxt = []
        for a, b in pieces(e.offsets, st):
            # pieces in queue order; a node seen in an earlier piece is not new in a later one
            pos, which = gather(e.offsets, st[a:b])
            v, iid, u, pu = e.succ[pos].astype(np.int64), e.inst[pos], level[a:b][which], ph[a:b][which]
            # per transition up to two pushes, in this order: (v, 0) or (v, 1); then (v, 1) via (v, 0)
            c0 = np.where(pu == 0, 2 * v, np.where(allowed[v], 2 * v + 1, -1))
            c1 = np.where((pu == 0) & trigger[v], 2 * v + 1, -1)
            cand = np.stack([c0, c1], axis=1).ravel()
            par = np.stack([u, 2 * v], axis=1).ravel()
            ins = np.stack([iid, np.full_like(iid, -1)], axis=1).ravel()
            ok = np.flatnonzero(cand >= 0)
            ok = ok[~seen[cand[ok]]]
            ok = ok[first_occurrence(cand[ok])]
            got = cand[ok]
            seen[got] = True
            parent[got] = par[ok]
            pinst[got] = ins[ok]
            nxt.append(got)
        level = np.concatenate(nxt) if nxt else np.zeros(0, dtype=np.int64)
    if end < 0:
        raise AssertionError("a fair component is reachable by construction")
    path: Path = []
    cur = end
    while cur >= 0:
        par_c, iid_c = int(parent[cur]), int(pinst[cur])
        if par_c < 0 or par_c >> 1 != cur >> 1 or iid_c >= 0:
            path.append((iid_c, cur >> 1))
        cur = par_c
    path.reverse()
    return path


class Cycle:
    """Cycles inside one fair component, searched on the transitions as they are (no copy of
    the component's transitions: it may hold most of a graph of hundreds of millions)."""

    def __init__(self, e: Edges, fc: FairComponents, fb: FairBits, c: int, accept: np.ndarray | None) -> None:
        self.e, self.fb, self.fc, self.c = e, fb, fc, c
        self.members = np.flatnonzero(fc.owner == c)
        nc = self.members.shape[0]
        self.local = np.full(e.states, -1, dtype=np.int64 if nc >= 2**31 else np.int32)
        self.local[self.members] = np.arange(nc)
        self.en = fb.enabled[self.members]
        self.target = accept[self.members] if accept is not None else None

    def enabled(self, v: int) -> set[int]:
        return self.fb.instances(self.en[v])

    def cycle(self, start_state: int) -> Path:
        """Steps from start back to start that take every needed instance and visit every
        needed state set ([] for a deadlock, which stutters)."""
        if self.fc.deadlock[self.c]:
            return []
        start = int(np.searchsorted(self.members, start_state))
        insts = self.fb.instances(self.fc.need_insts[self.c])
        target = self.target if self.target is not None and not self.target[start] else None
        off = self.fb.instances(self.fc.need_disabled[self.c]) & self.enabled(start)
        out: Path = []
        cur = start
        while insts or target is not None or off:
            seg = self._bfs(cur, insts, target, off)
            for iid, v in seg:
                insts.discard(iid)
                if target is not None and target[v]:
                    target = None
                off &= self.enabled(v)
            out += seg
            cur = out[-1][1]
        if cur != start or not out:
            back = np.zeros(self.members.shape[0], dtype=np.bool_)
            back[start] = True
            out += self._bfs(cur, set(), back, set())
        return [(iid, int(self.members[v])) for iid, v in out]

    def _bfs(self, start: int, insts: set[int], target: np.ndarray | None, off: set[int]) -> Path:
        """The shortest non-empty step sequence inside the component from start whose last step
        takes one of `insts`, enters `target`, or enters a state where one of `off` is disabled.
        Transitions to one successor through several instances count as one step, found at the
        first of them, taken by the first of them in `insts` (else the first)."""
        e, nc = self.e, self.members.shape[0]
        want = np.array(sorted(insts), dtype=np.int64)
        state_hit = np.zeros(nc, dtype=np.bool_) if target is None else target.copy()
        if off:
            state_hit |= ((self.fb.mask(off) & ~self.en) != 0).any(axis=1)
        seen = np.zeros(nc, dtype=np.bool_)
        par = np.full(nc, -1, dtype=np.int64)
        piid = np.full(nc, -1, dtype=np.int64)
        level = np.array([start], dtype=np.int64)
        seen[start] = True
        while level.shape[0]:
            nxt = []
            rows = self.members[level]
            for a, b in pieces(e.offsets, rows):
                pos, which = gather(e.offsets, rows[a:b])
                dst = self.local[e.succ[pos]].astype(np.int64)
                inside = dst >= 0
                pos, which, dst = pos[inside], which[inside] + a, dst[inside]
                inst = e.inst[pos].astype(np.int64)
                ins = np.isin(inst, want) if want.shape[0] else np.zeros(inst.shape[0], dtype=np.bool_)
                # group the transitions of a piece by (source, successor): first position, and the
                # instance the step names
                key = which * nc + dst
                by = np.argsort(key, kind="stable")
                sk = key[by]
                head = np.empty(sk.shape[0], dtype=np.bool_)
                head[:1] = True
                np.not_equal(sk[1:], sk[:-1], out=head[1:])
                starts = np.flatnonzero(head)
                first = by[starts]  # a group's first position (the sort is stable)
                group_first = np.empty(key.shape[0], dtype=np.int64)
                group_first[by] = np.repeat(first, np.diff(np.append(starts, sk.shape[0])))
                fo = np.sort(first)
                step_iid = inst[fo]
                hits = np.flatnonzero(ins)
                if hits.shape[0]:
                    g = group_first[hits]
                    f = first_occurrence(g)
                    step_iid[np.searchsorted(fo, g[f])] = inst[hits[f]]
                hit = state_hit[dst[fo]]
                if hits.shape[0]:
                    hit[np.searchsorted(fo, group_first[hits])] = True
                if hit.any():
                    j = int(np.argmax(hit))
                    u = int(level[which[fo[j]]])
                    seg = [(int(step_iid[j]), int(dst[fo[j]]))]
                    while u != start:
                        seg.append((int(piid[u]), u))
                        u = int(par[u])
                    seg.reverse()
                    return seg
                v = dst[fo]
                cand = np.flatnonzero(~seen[v])
                cand = cand[first_occurrence(v[cand])]
                nv = v[cand]
                seen[nv] = True
                par[nv] = level[which[fo[cand]]]
                piid[nv] = step_iid[cand]
                nxt.append(nv)
            level = np.concatenate(nxt) if nxt else np.zeros(0, dtype=np.int64)
        raise AssertionError("the component is strongly connected")
