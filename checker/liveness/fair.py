"""Fair strongly connected components over arrays (Emerson-Lei): a component that breaks weak
fairness of some instance (enabled in every state of it, taken on no edge inside it) is
dropped whole; one that breaks strong fairness of instance i (enabled somewhere in it, never
taken inside it) loses the states where i is enabled, and what is left is split again. A
singleton counts only with a self-loop, or as a deadlock (it stutters, and nothing is
enabled there, so it is fair)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..edges import Edges
from .arrays import ROWS, FairBits, Simple, degrees


@dataclass
class FairComponents:
    """owner[s]: the fair component of state s, or -1. Per component (rows): what a cycle
    through it must meet."""

    owner: np.ndarray
    need_insts: np.ndarray  # (components, words): instances the cycle must take
    need_disabled: np.ndarray  # (components, words): weakly fair instances to see disabled
    deadlock: np.ndarray  # bool per component: a deadlock state (the cycle is empty)

    @property
    def count(self) -> int:
        return int(self.deadlock.shape[0])


def _or_reduce(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.bitwise_or.reduceat(x, starts, axis=0) if x.shape[0] else x[:0]


def fair_components(
    e: Edges,
    g: Simple,
    fb: FairBits,
    region: np.ndarray,
    accept: np.ndarray | None,
    fair: bool,
    tick: Callable[[], None] = lambda: None,
) -> FairComponents:
    """`tick` is called before each round of splitting (it raises to stop)."""
    n = e.states
    owner = np.full(n, -1, dtype=np.int64)
    needs: list[np.ndarray] = []
    offs: list[np.ndarray] = []
    dead: list[np.ndarray] = []
    work = region.copy()
    while work.any():
        tick()
        labels = g.components(work)
        members = np.flatnonzero(work)
        lab = labels[members]
        by = np.argsort(lab, kind="stable")
        members, lab = members[by], lab[by]
        starts = np.flatnonzero(np.concatenate(([True], lab[1:] != lab[:-1])))
        sizes = np.diff(np.append(starts, members.shape[0]))
        first = members[starts]
        single = sizes == 1
        candidate = ~single | g.self_loop[first] | g.deadlock[first]
        comp_of = np.full(n, -1, dtype=np.int64)  # state -> candidate component number
        cid = np.cumsum(candidate) - 1
        per_state = np.repeat(np.where(candidate, cid, -1), sizes)
        comp_of[members] = per_state
        ncomp = int(candidate.sum())
        c_members = members[per_state >= 0]  # grouped by component
        c_starts = np.concatenate(([0], np.cumsum(sizes[candidate])[:-1])) if ncomp else np.zeros(0, np.int64)
        ok = np.ones(ncomp, dtype=np.bool_)
        if accept is not None:
            hits = np.zeros(ncomp, dtype=np.bool_)
            a = comp_of[np.flatnonzero(accept & (comp_of >= 0))]
            hits[a] = True
            ok &= hits
        is_dead = g.deadlock[c_members[c_starts]] & (sizes[candidate] == 1) if ncomp else np.zeros(0, np.bool_)
        words = fb.words
        need = np.zeros((ncomp, words), dtype=np.uint64)
        off = np.zeros((ncomp, words), dtype=np.uint64)
        split = np.zeros(ncomp, dtype=np.bool_)
        bad = np.zeros((ncomp, words), dtype=np.uint64)
        if fair and ncomp:
            en = fb.enabled[c_members]
            en_any = _or_reduce(en, c_starts)
            en_all = np.bitwise_and.reduceat(en, c_starts, axis=0)
            taken = _taken(e, fb, comp_of, ncomp)
            live = ok & ~is_dead
            broken_weak = ((fb.weak & en_all & ~taken) != 0).any(axis=1)
            bad = fb.strong & en_any & ~taken
            split = live & ~broken_weak & (bad != 0).any(axis=1)
            ok &= is_dead | (~broken_weak & ~split)
            need = (fb.weak & en_all) | (fb.strong & en_any)
            off = fb.weak & en_any & ~en_all
            need[is_dead] = 0
            off[is_dead] = 0
        fair_ids = np.flatnonzero(ok)
        if fair_ids.shape[0]:
            renum = np.full(ncomp, -1, dtype=np.int64)
            renum[fair_ids] = sum(x.shape[0] for x in dead) + np.arange(fair_ids.shape[0])
            sel = comp_of >= 0
            sel[sel] = ok[comp_of[sel]]
            owner[sel] = renum[comp_of[sel]]
            needs.append(need[fair_ids])
            offs.append(off[fair_ids])
            dead.append(is_dead[fair_ids])
        # the strongly unfair components lose the states where a violated instance is enabled
        work = np.zeros(n, dtype=np.bool_)
        if split.any():
            sel = comp_of >= 0
            idx = np.flatnonzero(sel)
            cs = comp_of[idx]
            s_ok = split[cs] & ~((fb.enabled[idx] & bad[cs]) != 0).any(axis=1)
            work[idx[s_ok]] = True
    words = fb.words
    return FairComponents(
        owner,
        np.concatenate(needs) if needs else np.zeros((0, words), dtype=np.uint64),
        np.concatenate(offs) if offs else np.zeros((0, words), dtype=np.uint64),
        np.concatenate(dead) if dead else np.zeros(0, dtype=np.bool_),
    )


def _taken(e: Edges, fb: FairBits, comp_of: np.ndarray, ncomp: int) -> np.ndarray:
    """(components, words): the fair instances taken on an edge inside each component."""
    taken = np.zeros((ncomp, fb.words), dtype=np.uint64)
    deg = degrees(e)
    src_states = np.flatnonzero(comp_of >= 0)
    for lo in range(0, src_states.shape[0], ROWS):
        rows = src_states[lo : lo + ROWS]
        d = deg[rows]
        a = e.offsets[rows]
        pos = np.arange(int(d.sum()), dtype=np.int64) - np.repeat(np.cumsum(d) - d - a, d)
        c = np.repeat(comp_of[rows], d)
        inside = comp_of[e.succ[pos]] == c
        pos, c = pos[inside], c[inside]
        bits = fb.edge_bits(e.inst[pos])
        for w in range(fb.words):
            np.bitwise_or.at(taken[:, w], c, bits[:, w])
    return taken
