"""The explicit-state search: budgets and stop reasons, the state store, successor
backends behind one chunk interface, the one breadth-first driver, verdicts."""

from ..stops import Stop, StopKind
from .budget import Budget, Clock, Progress, peak_mb
from .engine import always_as_invariants, explore
from .exploration import Exploration

__all__ = [
    "Budget",
    "Clock",
    "Exploration",
    "Progress",
    "Stop",
    "StopKind",
    "always_as_invariants",
    "explore",
    "peak_mb",
]
