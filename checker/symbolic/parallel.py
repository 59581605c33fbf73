"""Induction's action groups proved in worker processes (`--jobs N`).

z3 objects cannot be pickled, so each worker gets the typed model (pickled: a few hundred
kB), grounds and encodes it itself, and proves the groups the parent hands out one at a time
through a queue, heaviest first (groups with more invariant conjuncts in scope take longer).
A group's answer does not depend on the process that proves it: a proof is a proof, and a
counterexample to induction is only reported once it is checked concretely, so `--jobs 1` and
`--jobs N` give the same verdicts (what a process learnt from earlier groups, such as which
counts to make exact, only changes how fast it gets there, and which counterexample z3 picks).
A budget running out or an interrupt in the parent, or a group z3 cannot answer in a worker,
ends every worker at once: what was proved so far is reported. A worker whose parent is gone
(killed outright) ends itself."""

from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import time
from collections.abc import Iterator
from typing import Any

from model import typed as T
from model.ground import ground

from ..workers import end_all, watch_parent
from .encode import Encoder
from .prover import CTI, Prover, Unknown, groups
from .unroll import Clock

PARALLEL_MIN_GROUPS = 8  # fewer groups: proved in this process (starting workers costs a second or two)
GRACE = 5.0  # seconds the parent waits past the budget for a worker's own answer
HEARTBEAT = 5.0  # seconds between progress notes while nothing changes


def weight(prover: Prover, grp: list[Any]) -> int:
    """How heavy a group's query is likely to be: the invariant conjuncts it must preserve."""
    written = set(prover.enc.writes[grp[0].id])
    return sum(1 for c in prover.conjs if c.reads & written)


def prove_groups(
    prover: Prover, grps: list[list[Any]], model: T.Model, drop: frozenset[str], jobs: int, clock: Clock
) -> Iterator[tuple[int, CTI | None]]:
    """(group index, its counterexample to induction or None) for every group, in the order
    they are answered. Raises Unknown when a group cannot be answered (the budget, z3 giving
    up) and KeyboardInterrupt when interrupted; the workers are ended either way."""
    if jobs <= 1 or len(grps) < PARALLEL_MIN_GROUPS:
        proved = 0
        for i, grp in enumerate(grps):
            clock.note(f"induction: action `{grp[0].action}`, {proved} of {len(grps)} instance groups proved")
            if clock.over():
                raise Unknown(f"time budget {clock.timeout:g} s reached at action `{grp[0].action}`")
            try:
                cti = prover.step(grp)
            except Unknown as exc:
                raise Unknown(f"{exc} at action `{grp[0].action}`") from None
            proved += cti is None
            yield i, cti
        return
    yield from _in_workers(prover, grps, model, drop, min(jobs, len(grps)), clock)


def _in_workers(
    prover: Prover, grps: list[list[Any]], model: T.Model, drop: frozenset[str], jobs: int, clock: Clock
) -> Iterator[tuple[int, CTI | None]]:
    ctx = mp.get_context("spawn")
    tasks: Any = ctx.Queue()
    answers: Any = ctx.Queue()
    order = sorted(range(len(grps)), key=lambda i: (-weight(prover, grps[i]), i))
    for i in order:
        tasks.put(i)
    for _ in range(jobs):
        tasks.put(None)
    shape = [(g[0].action, len(g)) for g in grps]
    workers = [
        ctx.Process(target=_worker, args=(model, drop, clock.left(), shape, tasks, answers), daemon=True)
        for _ in range(jobs)
    ]
    insts = {inst.id: inst for inst in prover.enc.gm.instances}
    running: dict[int, int] = {}  # worker pid -> group index
    got = proved = 0
    try:
        for w in workers:
            w.start()
        said, said_at = "", 0.0
        while got < len(grps):
            names = ", ".join(f"`{grps[i][0].action}`" for i in sorted(running.values()))
            note = f"induction: {proved} of {len(grps)} instance groups proved, {jobs} processes on {names or '...'}"
            if note != said or clock.elapsed() - said_at >= HEARTBEAT:  # news, or a line every 5 s
                clock.note(note)
                said, said_at = note, clock.elapsed()
            clock.over()  # raises KeyboardInterrupt once a (deferred) Ctrl-C has arrived
            left = clock.left()
            if left is not None and left + GRACE <= 0:
                raise Unknown(f"time budget {clock.timeout:g} s reached{_at(grps, running)}")
            try:
                msg = answers.get(timeout=1.0)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    raise Unknown("the worker processes ended without answering") from None
                continue
            what, pid, idx, payload = msg
            if what == "start":
                running[pid] = idx
            elif what == "unknown":
                raise Unknown(f"{payload} at action `{grps[idx][0].action}`")
            elif what == "error":
                raise RuntimeError(f"an induction worker failed: {payload}")
            else:
                running.pop(pid, None)
                got += 1
                cti = None
                if payload is not None:
                    prop, inst_id, pre, post = payload
                    cti = CTI(prop, insts[inst_id], pre, post)
                proved += cti is None
                yield idx, cti
    finally:
        end_all(workers, [tasks, answers])


def _at(grps: list[list[Any]], running: dict[int, int]) -> str:
    if not running:
        return ""
    return " at action " + ", ".join(f"`{grps[i][0].action}`" for i in sorted(running.values()))


def _worker(
    model: T.Model, drop: frozenset[str], timeout: float | None, shape: list[tuple[str, int]], tasks: Any, answers: Any
) -> None:
    """A worker process: ground and encode the model, then prove the groups it is handed."""
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
            answers.put(("error", pid, -1, "the worker grounded different action groups"))
            return
        while True:
            idx = tasks.get()
            if idx is None:
                return
            answers.put(("start", pid, idx, None))
            try:
                cti = prover.step(grps[idx])
            except Unknown as exc:
                answers.put(("unknown", pid, idx, str(exc)))
                return
            payload = None if cti is None else (cti.prop, cti.inst.id, cti.pre, cti.post)
            answers.put(("done", pid, idx, payload))
    except KeyboardInterrupt:  # z3 caught the terminal's Ctrl-C itself: the parent ends the run
        return
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        answers.put(("error", pid, -1, f"{type(exc).__name__}: {exc}"))
