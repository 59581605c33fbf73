"""Why a search or proof ended before it was complete, as a value: the kind of budget that
ran out (or the interrupt, or the solver giving up), its limit, what was in use, and what
the engine adds. Results carry it; `str()` is the sentence people read, `to_json()` what
`--json` and the reports carry. Every engine (explicit, liveness, symbolic, simulation)
says why it stopped with one of these."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from model.budget import Stopped

from .memory import size_text


class StopKind(Enum):
    TIME = "time"
    MEMORY = "memory"
    STATES = "states"
    DEPTH = "depth"
    INTERRUPTED = "interrupted"
    SOLVER = "solver"  # the solver answered unknown or gave up (z3's reason in `detail`)
    WORKER = "worker"  # a worker process ended unexpectedly (which one, and how, in `detail`)


@dataclass(frozen=True)
class Stop:
    """Why a search ended before it was complete: the budget that ran out, its limit, what
    was in use, and what the engine adds (how far it got, the solver's reason). `str()` is
    the sentence results and reports show; `to_json()` the value `--json` carries."""

    kind: StopKind
    limit: float | None = None
    used: float | None = None
    detail: str = ""
    during: str = ""  # what the run was doing when the budget ran out ("grounding"), if not searching

    def __str__(self) -> str:
        if self.kind is StopKind.SOLVER:
            return self.detail or "the solver gave up"
        if self.kind is StopKind.WORKER:
            return self.detail or "a worker ended unexpectedly"
        more = (f" while {self.during}" if self.during else "") + (f" ({self.detail})" if self.detail else "")
        if self.kind is StopKind.TIME:
            return f"time budget {self.limit:g} s reached{more}"
        if self.kind is StopKind.MEMORY:
            assert self.limit is not None
            used = f" ({size_text(self.used)} in use)" if self.used is not None else ""
            return f"memory budget {size_text(self.limit)} reached{used}{more}"
        if self.kind is StopKind.STATES:
            return f"state budget {self.limit:.0f} reached{more}"
        if self.kind is StopKind.DEPTH:
            return f"depth budget {self.limit:.0f} reached{more}"
        return f"interrupted{more}"

    @property
    def interrupted(self) -> bool:
        return self.kind is StopKind.INTERRUPTED

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind.value, "limit": self.limit, "used": self.used, "message": str(self)}


INTERRUPTED = Stop(StopKind.INTERRUPTED)


def stop_of(exc: Stopped) -> Stop:
    """The stop of a run whose time budget ran out while grounding or compiling."""
    return Stop(StopKind.TIME, exc.timeout, during=exc.during)


def lost_worker(exc: BaseException) -> Stop:
    """The stop of a distributed search that lost a worker."""
    return Stop(StopKind.WORKER, detail=f"a worker was lost ({exc}); nothing is concluded from a partial search")
