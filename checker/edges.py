"""The transitions a complete search recorded, as flat arrays (CSR): what liveness, pictures
and reports read instead of exploring again. No per-state Python objects.

State i's outgoing transitions are `succ[offsets[i]:offsets[i+1]]`, each taken by action
instance `inst[...]` at the same position, in the order the search generated them (instance
order, then successor order): deterministic for a given spec and config. A state without
outgoing transitions is a deadlock (liveness treats it as stuttering). Duplicate (source,
successor) pairs through different instances are kept: fairness needs each instance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Edges:
    offsets: np.ndarray  # int64, length states + 1
    succ: np.ndarray  # int64 state index, length transitions
    inst: np.ndarray  # int32 action instance id, length transitions

    @property
    def states(self) -> int:
        return len(self.offsets) - 1

    @property
    def transitions(self) -> int:
        return len(self.succ)

    @property
    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.succ.nbytes + self.inst.nbytes)

    def out(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The successors of state i and the instances that lead there."""
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.succ[lo:hi], self.inst[lo:hi]
