"""Induction's proof obligations in worker processes (`--jobs N`): the action groups, then
range (one query per action whose instances may fail) and deadlock.

z3 objects cannot be pickled, so each worker gets the typed model (pickled: a few hundred
kB), grounds and encodes it itself, and answers the tasks the parent hands out one at a time
through a queue: groups heaviest first (groups with more invariant conjuncts in scope take
longer), then deadlock and range. Those last two only mean something once every group is
proved; the workers start on them while the last groups are still being proved (on the SBM
spec at linux they were 50 s of a 90 s proof, asked one after another in the parent), and
their answers are dropped if a group turns out not to be preserved.
A task's answer does not depend on the process that gives it: a proof is a proof, and a
counterexample to induction is only reported once it is checked concretely, so `--jobs 1` and
`--jobs N` give the same verdicts (what a process learnt from earlier queries, such as which
counts to make exact, only changes how fast it gets there, and which counterexample z3 picks).
A budget running out or an interrupt in the parent, or a task z3 cannot answer in a worker,
ends every worker at once: what was proved so far is reported. A worker whose parent is gone
(killed outright) ends itself."""

from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from model import typed as T
from model.ground import Instance, ground

from ..workers import end_all, watch_parent
from .encode import Encoder
from .prover import CTI, LeafMap, Prover, Unknown, groups
from .unroll import Clock

GROUP, RANGE, DEADLOCK = "group", "range", "deadlock"


@dataclass(frozen=True)
class Task:
    """One proof obligation: an action group (its index), range for one action (its index
    among the actions that may fail, and the action's name, which the worker checks) or
    deadlock."""

    kind: str
    index: int = 0
    action: str = ""

    def label(self) -> str:
        return {GROUP: f"`{self.action}`", RANGE: f"range of `{self.action}`"}.get(self.kind, self.kind)


class Work:
    """What a process needs to answer tasks: the prover, the groups and (computed when first
    needed: it encodes every instance) the range queries."""

    def __init__(self, prover: Prover, grps: list[list[Instance]]) -> None:
        self.prover = prover
        self.grps = grps
        self._ranges: list[list[Instance]] | None = None

    def ranges(self) -> list[list[Instance]]:
        if self._ranges is None:
            self._ranges = self.prover.range_actions()
        return self._ranges

    def after(self, rng: bool, dead: bool) -> list[Task]:
        """The tasks asked once the groups are proved (deadlock first: it is one query over
        every instance, the longest of them)."""
        out = [Task(DEADLOCK)] if dead else []
        if rng:
            out += [Task(RANGE, i, f[0].action) for i, f in enumerate(self.ranges())]
        return out

    def answer(self, task: Task) -> CTI | LeafMap | None:
        """A group's counterexample to induction, or a state with a runtime error (range) or
        with no enabled instance (deadlock); None when proved."""
        if task.kind == GROUP:
            try:
                return self.prover.step(self.grps[task.index])
            except Unknown as exc:
                raise Unknown(f"{exc} at action `{task.action}`") from None
        if task.kind == RANGE:
            failing = self.ranges()[task.index]
            if failing[0].action != task.action:
                raise RuntimeError("the worker grounded different range queries")
            return self.prover.range_of(failing)
        return self.prover.deadlock_free()


PARALLEL_MIN_GROUPS = 8  # fewer groups: proved in this process (starting workers costs a second or two)
GRACE = 5.0  # seconds the parent waits past the budget for a worker's own answer
HEARTBEAT = 5.0  # seconds between progress notes while nothing changes


def weight(prover: Prover, grp: list[Any]) -> int:
    """How heavy a group's query is likely to be: the invariant conjuncts it must preserve."""
    written = set(prover.enc.writes[grp[0].id])
    return sum(1 for c in prover.conjs if c.reads & written)


def prove(
    work: Work, model: T.Model, drop: frozenset[str], jobs: int, clock: Clock, rng: bool, dead: bool
) -> Iterator[tuple[Task, Any]]:
    """(task, its answer) for every group, in the order they are answered, then (only if
    every group is proved) for range (`rng`) and deadlock (`dead`). Raises Unknown when a
    task cannot be answered (the budget, z3 giving up) and KeyboardInterrupt when
    interrupted; the workers are ended either way."""
    grps = work.grps
    if jobs <= 1 or len(grps) < PARALLEL_MIN_GROUPS:
        yield from _here(work, clock, rng, dead)
        return
    yield from _in_workers(work, model, drop, min(jobs, len(grps)), clock, rng, dead)


def _here(work: Work, clock: Clock, rng: bool, dead: bool) -> Iterator[tuple[Task, Any]]:
    grps = work.grps
    proved = 0
    for i, grp in enumerate(grps):
        clock.note(f"induction: action `{grp[0].action}`, {proved} of {len(grps)} instance groups proved")
        if clock.over():
            raise Unknown(f"time budget {clock.timeout:g} s reached at action `{grp[0].action}`")
        task = Task(GROUP, i, grp[0].action)
        cti = work.answer(task)
        proved += cti is None
        yield task, cti
    if proved < len(grps):
        return
    clock.note(f"induction: all {len(grps)} instance groups proved; range and deadlock")
    for task in work.after(rng, dead):
        yield task, work.answer(task)


def _in_workers(
    work: Work, model: T.Model, drop: frozenset[str], jobs: int, clock: Clock, rng: bool, dead: bool
) -> Iterator[tuple[Task, Any]]:
    prover, grps = work.prover, work.grps
    ctx = mp.get_context("spawn")
    tasks: Any = ctx.Queue()
    answers: Any = ctx.Queue()
    for i in sorted(range(len(grps)), key=lambda i: (-weight(prover, grps[i]), i)):
        tasks.put(Task(GROUP, i, grps[i][0].action))
    shape = [(g[0].action, len(g)) for g in grps]
    workers = [
        ctx.Process(target=_worker, args=(model, drop, clock.left(), shape, tasks, answers), daemon=True)
        for _ in range(jobs)
    ]
    insts = {inst.id: inst for inst in prover.enc.gm.instances}
    running: dict[int, Task] = {}  # worker pid -> its task
    got = got_groups = proved = 0
    try:
        for w in workers:
            w.start()
        after = work.after(rng, dead)  # encoded here while the workers start
        for task in after:
            tasks.put(task)
        for _ in range(jobs):
            tasks.put(None)
        total = len(grps) + len(after)
        said, said_at = "", 0.0
        while got < total:
            if got_groups == len(grps) and proved < len(grps):
                return  # a group is not preserved: range and deadlock mean nothing
            on = ", ".join(t.label() for t in sorted(running.values(), key=_order))
            done = f"{proved} of {len(grps)} instance groups proved"
            if proved == len(grps):
                done = (
                    f"all {len(grps)} instance groups proved, {got - proved} of {len(after)} range and deadlock queries"
                )
            note = f"induction: {done}, {jobs} processes on {on or '...'}"
            if note != said or clock.elapsed() - said_at >= HEARTBEAT:  # news, or a line every 5 s
                clock.note(note)
                said, said_at = note, clock.elapsed()
            clock.over()  # raises KeyboardInterrupt once a (deferred) Ctrl-C has arrived
            left = clock.left()
            if left is not None and left + GRACE <= 0:
                raise Unknown(f"time budget {clock.timeout:g} s reached{_at(running)}")
            try:
                msg = answers.get(timeout=1.0)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    raise Unknown("the worker processes ended without answering") from None
                continue
            what, pid, task, payload = msg
            if what == "start":
                running[pid] = task
            elif what == "unknown":
                raise Unknown(str(payload))
            elif what == "error":
                raise RuntimeError(f"an induction worker failed: {payload}")
            else:
                running.pop(pid, None)
                got += 1
                if task.kind == GROUP:
                    got_groups += 1
                    cti = None
                    if payload is not None:
                        prop, inst_id, pre, post = payload
                        cti = CTI(prop, insts[inst_id], pre, post)
                    proved += cti is None
                    payload = cti
                yield task, payload
    finally:
        end_all(workers, [tasks, answers])


def _order(t: Task) -> tuple[int, int]:
    return ((GROUP, DEADLOCK, RANGE).index(t.kind), t.index)


def _at(running: dict[int, Task]) -> str:
    if not running:
        return ""
    return " at " + ", ".join(t.label() for t in sorted(running.values(), key=_order))


def _worker(
    model: T.Model, drop: frozenset[str], timeout: float | None, shape: list[tuple[str, int]], tasks: Any, answers: Any
) -> None:
    """A worker process: ground and encode the model, then answer the tasks it is handed."""
    import os

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends the workers on Ctrl-C
    pid = os.getpid()
    watch_parent()
    t0 = time.perf_counter()
    try:
        gm = ground(model)
        enc = Encoder(gm)
        left = None if timeout is None else max(0.1, timeout - (time.perf_counter() - t0))
        prover = Prover(enc, Clock(left), drop)
        grps = groups(gm, enc)
        if [(g[0].action, len(g)) for g in grps] != shape:
            answers.put(("error", pid, None, "the worker grounded different action groups"))
            return
        work = Work(prover, grps)
        while True:
            task = tasks.get()
            if task is None:
                return
            answers.put(("start", pid, task, None))
            try:
                ans = work.answer(task)
            except Unknown as exc:
                answers.put(("unknown", pid, task, str(exc)))
                return
            sent = (ans.prop, ans.inst.id, ans.pre, ans.post) if isinstance(ans, CTI) else ans
            answers.put(("done", pid, task, sent))
    except KeyboardInterrupt:  # z3 caught the terminal's Ctrl-C itself: the parent ends the run
        return
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        answers.put(("error", pid, None, f"{type(exc).__name__}: {exc}"))
