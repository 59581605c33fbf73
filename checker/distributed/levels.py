"""The level-synchronous breadth-first search over partitions. Each level is two rounds of
actor calls: every partition numbers and expands its newest states into pieces per owner
(`Partition.step`), then every owner takes what was sent to it (`Partition.absorb`). The pieces
go from partition to partition through Ray's object store; the driver passes references and
reads back only counts, tallies and sizes. Budgets, progress and Ctrl-C are checked while it
waits; a worker that dies ends the run as inconclusive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model import typed as T
from model.ground import Ground

from ..search.budget import Budget, Clock
from ..search.store import to_words
from ..search.tally import Tally
from ..stops import INTERRUPTED, Stop, StopKind, lost_worker
from .partition import owners

POLL = 0.2  # seconds between looks at the clock and Ctrl-C while the workers compute


@dataclass
class Book:
    """Where each numbered state lives: per level, each partition's first global number and
    first local position, and how many states it has there."""

    parts: int
    bases: list[list[int]] = field(default_factory=list)
    starts: list[list[int]] = field(default_factory=list)
    counts: list[list[int]] = field(default_factory=list)
    numbered: int = 0  # levels whose states were numbered and checked

    def add_level(self, counts: list[int], total_before: int) -> list[int]:
        """Number a new level: each partition's base, after the states so far."""
        base = np.cumsum([total_before, *counts[:-1]]).tolist()
        prev = self.starts[-1] if self.starts else [0] * self.parts
        last = self.counts[-1] if self.counts else [0] * self.parts
        self.starts.append([s + c for s, c in zip(prev, last, strict=True)])
        self.bases.append(base)
        self.counts.append(list(counts))
        return base  # type: ignore[no-any-return]

    @property
    def total(self) -> int:
        return sum(sum(c) for c in self.counts)

    def locate(self, gid: int) -> tuple[int, int]:
        """(partition, local position) of a numbered state."""
        firsts = [b[0] for b in self.bases]
        level = int(np.searchsorted(firsts, gid, side="right")) - 1
        for p in range(self.parts - 1, -1, -1):
            if self.bases[level][p] <= gid and self.counts[level][p] > 0:
                return p, self.starts[level][p] + gid - self.bases[level][p]
        raise KeyError(gid)


@dataclass
class Stats:
    """What the bench and the report read: per level, the bytes each partition sent (to the
    others and to itself), and each worker's largest resident memory."""

    workers: int
    sent: list[int] = field(default_factory=list)  # per level: bytes through the object store
    sent_away: list[int] = field(default_factory=list)  # per level: of those, to another partition
    peak_rss: list[int] = field(default_factory=list)  # per worker, bytes
    pids: list[int] = field(default_factory=list)


@dataclass
class Partitioned:
    tally: Tally
    book: Book
    depth: int
    stop: Stop | None
    stats: Stats
    lost: bool  # a worker died, or the run stopped while they computed: the actors are not reusable


class WorkerLost(Exception):
    pass


def run_levels(
    ray: Any,
    actors: list[Any],
    model: T.Model,
    kernel: str,
    gm: Ground,
    init: list[int],
    k: int,
    budget: Budget,
    clock: Clock,
    stop: Stop | None,
    on_level: Callable[[int, list[int]], None] | None = None,
    memory_sum: bool = True,
    remember_sent: bool = False,
) -> Partitioned:
    """The search from the distinct initial states `init` over partition actors, which load
    the model first (grounding and compiling it themselves)."""
    P = len(actors)
    book = Book(P)
    stats = Stats(P, peak_rss=[0] * P)
    tally = Tally(gm)
    depth = 0
    busy = False  # a round was left running: its actors cannot be reused
    state = {"frontier": 0}

    def wait(refs: list[Any]) -> list[Any]:
        """Every result, watching the budgets and Ctrl-C meanwhile; a dead worker raises WorkerLost."""
        nonlocal busy
        busy = True
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL)
            for r in ready:
                get(ray, r)
            if pending:
                s = clock.check(book.total, tally.transitions, depth, state["frontier"])
                if s is not None:
                    raise _Stopped(s)
        busy = False
        return [get(ray, r) for r in refs]

    def note_rss(rss: list[int]) -> Stop | None:
        for i, r in enumerate(rss):
            stats.peak_rss[i] = max(stats.peak_rss[i], r)
        if budget.max_memory is None:
            return None
        used = sum(rss) if memory_sum else max(rss)
        return Stop(StopKind.MEMORY, budget.max_memory, used) if used > budget.max_memory else None

    def numbered(tallies: list[Tally]) -> None:
        nonlocal tally
        tally = Tally(gm)
        for t in tallies:
            tally.merge(t)

    try:
        stats.pids = wait([a.load.remote(model, kernel, j, P, remember_sent) for j, a in enumerate(actors)])
        rows = to_words(init, k)
        own = owners(rows, P) if P > 1 else np.zeros(rows.shape[0], np.intp)
        counts = wait([a.seed.remote(rows[own == j]) for j, a in enumerate(actors)])
        bases = book.add_level(counts, 0)
        while True:
            if on_level is not None:
                on_level(depth, stats.pids)
            state["frontier"] = sum(book.counts[-1])
            expand = stop is None and state["frontier"] > 0
            if expand and budget.max_depth is not None and depth >= budget.max_depth:
                stop, expand = Stop(StopKind.DEPTH, budget.max_depth), False
            outs = [a.step.options(num_returns=P + 1).remote(bases[j], expand) for j, a in enumerate(actors)]
            infos = wait([o[-1] for o in outs])
            book.numbered = len(book.counts)
            numbered([i[0] for i in infos])
            stats.sent.append(sum(sum(i[1]) for i in infos) if expand else 0)
            stats.sent_away.append(sum(b for j, i in enumerate(infos) for p, b in enumerate(i[1]) if p != j))
            stop = stop or note_rss([i[2] for i in infos])
            if not expand or stop is not None:
                break
            got = wait([a.absorb.remote(*[outs[i][j] for i in range(P)]) for j, a in enumerate(actors)])
            counts = [g[0] for g in got]
            depth += 1
            bases = book.add_level(counts, book.total)
            stop = clock.check(book.total, tally.transitions, depth, sum(counts)) or note_rss([g[1] for g in got])
            if stop is None and budget.max_states is not None and book.total >= budget.max_states:
                stop = Stop(StopKind.STATES, budget.max_states)
            # with a stop, the loop goes round once more: the new level is numbered and checked, not expanded
    except _Stopped as s:
        stop = s.stop
        _drop_unnumbered(book)
    except KeyboardInterrupt:
        stop = INTERRUPTED
        _drop_unnumbered(book)
    except WorkerLost as e:
        stop = lost_worker(e)
        _drop_unnumbered(book)
        return Partitioned(Tally(gm), book, depth, stop, stats, True)
    if stop is None and depth > 0:
        depth -= 1  # the last level expanded had no new states
    return Partitioned(tally, book, depth, stop, stats, busy)


class _Stopped(Exception):
    def __init__(self, stop: Stop) -> None:
        self.stop = stop


def _drop_unnumbered(book: Book) -> None:
    """A level absorbed but not numbered yet (the run stopped before its step) does not count."""
    for xs in (book.bases, book.starts, book.counts):
        del xs[book.numbered :]


def get(ray: Any, ref: Any) -> Any:
    """One result; a worker's death is WorkerLost, an error raised in a worker is raised here."""
    from ray import exceptions as rx

    try:
        return ray.get(ref)
    except rx.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, rx.RayError) and not isinstance(cause, rx.RayTaskError):
            raise WorkerLost(_lost(cause)) from None
        if isinstance(cause, BaseException):
            raise cause from None
        raise
    except rx.RayError as e:
        raise WorkerLost(_lost(e)) from None


def _lost(e: BaseException) -> str:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return f"{type(e).__name__}: {first[:200]}"
