"""What the breadth-first driver knows besides its state store: what it found so far (`Tally`:
first property hits, the first deadlock and runtime error, coverage) and where it is
(`Cursor`: the level being expanded and the next state of it). A checkpoint copies both at a
chunk boundary, and a resumed search starts from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.ground import Ground

from .backends import Backend, Expansion
from .verdicts import Findings


@dataclass(frozen=True)
class Cursor:
    """Where a search is: the level `depth` is the states [level_start, level_end) of the
    store, and those before `pos` are expanded."""

    depth: int
    level_start: int
    level_end: int
    pos: int


class Tally:
    """What a search found besides its states, by state number: first property hits, the first
    deadlock and runtime error, coverage. Several tallies (one per partition of a partitioned
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

    def copy(self) -> Tally:
        """A snapshot (for a checkpoint): later chunks change neither its dicts nor its arrays."""
        t = Tally.__new__(Tally)
        t.__dict__.update(self.__dict__)
        t.inv_found, t.reach_found = dict(self.inv_found), dict(self.reach_found)
        t.fired, t.inst_trans, t.act_total = bytearray(self.fired), self.inst_trans.copy(), self.act_total.copy()
        return t

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


def _first_hits(hits: list[np.ndarray], base: int, found: dict[int, int]) -> None:
    """Record, per property not found yet, the first lane where it hit (as a state number)."""
    for k, h in enumerate(hits):
        if k not in found and h.any():
            found[k] = base + int(np.argmax(h))
