"""What bounds a search, and why it stopped: the budgets a user sets, the clock that
watches time and memory and reports progress, and stop reasons as values. Every engine
(explicit, liveness, symbolic) takes its limits from here; only the CLI reads flags."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ..memory import rss_bytes, size_text

MEMORY_EVERY = 0.25  # seconds between two looks at the process's memory


@dataclass
class Budget:
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    max_graph_states: int | None = None  # liveness: refuse graphs above this many states (deprecated)
    max_graph_bytes: int | None = None  # liveness: refuse graphs needing more memory (None: what is available)
    max_memory: int | None = None  # the search stops when the process holds more (bytes)


class StopKind(Enum):
    TIME = "time"
    MEMORY = "memory"
    STATES = "states"
    DEPTH = "depth"
    INTERRUPTED = "interrupted"
    WORKER = "worker"  # the distributed search lost a worker


@dataclass(frozen=True)
class Stop:
    """Why a search ended before it was complete: the budget that ran out, its limit, and
    what was in use. `str()` is the sentence results and reports show."""

    kind: StopKind
    limit: float | None = None
    used: float | None = None
    detail: str = ""  # what happened, for stops that are not a budget (a lost worker)

    def __str__(self) -> str:
        if self.kind is StopKind.TIME:
            return f"time budget {self.limit:g} s reached"
        if self.kind is StopKind.MEMORY:
            assert self.limit is not None
            used = f" ({size_text(self.used)} in use)" if self.used is not None else ""
            return f"memory budget {size_text(self.limit)} reached{used}"
        if self.kind is StopKind.STATES:
            return f"state budget {self.limit:.0f} reached"
        if self.kind is StopKind.DEPTH:
            return f"depth budget {self.limit:.0f} reached"
        if self.kind is StopKind.WORKER:
            return f"a worker was lost ({self.detail}); nothing is concluded from a partial search"
        return "interrupted"


INTERRUPTED = Stop(StopKind.INTERRUPTED)


@dataclass
class Progress:
    states: int
    transitions: int
    depth: int
    frontier: int
    seconds: float
    note: str = ""  # the symbolic engines: what they work on (no states to count)


@dataclass
class Clock:
    """The time and memory budgets and the progress reports, checked between chunks of work."""

    t0: float
    timeout: float | None
    progress: Callable[[Progress], None] | None = None
    every: float = 1.0
    max_memory: int | None = None
    last: float = 0.0
    mem_last: float = 0.0

    def __post_init__(self) -> None:
        self.last = self.t0

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float | None:
        """Seconds of the time budget left (None: no time budget)."""
        return None if self.timeout is None else max(0.0, self.timeout - self.elapsed())

    def note(self, what: str) -> None:
        """Progress of an engine with no states to count: what it works on now."""
        if self.progress is not None:
            self.progress(Progress(0, 0, 0, 0, self.elapsed(), what))

    def check(self, states: int, transitions: int, depth: int, frontier: int) -> Stop | None:
        """Why to stop now (the time or memory budget ran out), or None; reports progress when due."""
        now = time.perf_counter()
        if self.timeout is not None and now - self.t0 > self.timeout:
            return Stop(StopKind.TIME, self.timeout)
        if self.max_memory is not None and now - self.mem_last >= MEMORY_EVERY:
            self.mem_last = now  # reading /proc costs microseconds: a few times a second is enough
            rss = rss_bytes()
            if rss is not None and rss > self.max_memory:
                return Stop(StopKind.MEMORY, self.max_memory, rss)
        if self.progress is not None and now - self.last >= self.every:
            self.last = now
            self.progress(Progress(states, transitions, depth, frontier, now - self.t0))
        return None


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
