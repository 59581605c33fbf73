"""What a finished (or stopped) search holds: every state reached in BFS order with its
parent and action instance, the transitions when they were recorded, and shortest traces."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from model.ground import Ground

from ..codegen import Compiled
from ..edges import Edges
from ..results import Trace
from ..states import step


@dataclass
class Exploration:
    """What a search reached: states in BFS order with parent links (for traces, graphs)."""

    ground: Ground
    compiled: Compiled
    states: list[int] = field(default_factory=list)
    parent: array = field(default_factory=lambda: array("q"))
    action: array = field(default_factory=lambda: array("l"))
    index: dict[int, int] = field(default_factory=dict)
    complete: bool = False
    edges: Edges | None = None  # every transition, when the search was asked to record them and completed

    def trace(self, i: int) -> Trace:
        chain = []
        while i >= 0:
            chain.append(i)
            i = self.parent[i]
        chain.reverse()
        m, lay = self.ground.model, self.compiled.layout
        steps = []
        for j in chain:
            a = self.action[j]
            steps.append(step(m, lay, self.ground.instances[a] if a >= 0 else None, self.states[j]))
        return Trace(steps)
