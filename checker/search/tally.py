"""What the breadth-first driver knows besides its state store: where it is (the level being
expanded and the next state of it) and what it has found so far. Kept in one value so that a
checkpoint can copy it at a chunk boundary and a resumed search can start from it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Tally:
    depth: int = 0  # the level being expanded (steps from the initial states)
    level_start: int = 0  # the level's states are [level_start, level_end) of the store
    level_end: int = 0
    pos: int = 0  # the next state of the level to expand: states before it are expanded
    transitions: int = 0
    dead_at: int = -1  # the first deadlocked state, -1: none yet
    range_err: tuple[int, int, str] | None = None  # (state, instance, message) of the first range error
    inv_found: dict[int, int] = field(default_factory=dict)  # invariant number -> first violating state
    reach_found: dict[int, int] = field(default_factory=dict)  # reachable number -> first state reaching it
    fired: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))  # per instance: fired at all
    inst_trans: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # transitions per instance
    act_total: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # states enabling each action

    @classmethod
    def start(cls, instances: int, actions: int) -> Tally:
        return cls(
            fired=np.zeros(instances, dtype=np.uint8),
            inst_trans=np.zeros(instances, dtype=np.int64),
            act_total=np.zeros(actions, dtype=np.int64),
        )

    def copy(self) -> Tally:
        """A snapshot: later chunks change neither its dicts nor its arrays."""
        return Tally(
            self.depth,
            self.level_start,
            self.level_end,
            self.pos,
            self.transitions,
            self.dead_at,
            self.range_err,
            dict(self.inv_found),
            dict(self.reach_found),
            self.fired.copy(),
            self.inst_trans.copy(),
            self.act_total.copy(),
        )
