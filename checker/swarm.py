"""`simulate --workers N`: the batches of a simulation run in N spawned worker processes.

Each worker gets the typed model (pickled), grounds and compiles it itself, and takes the
next batch number from a shared counter until none is left. A batch's walks depend only on
(seed, batch number) (see simulate.py), so the parent gathers the batches as they come and
reports exactly what one process would: the first batch with a violation, once every batch
before it has come in (workers stop taking batches past it). The worker that finds a
violation rebuilds its trace and sends it along. A budget running out or Ctrl-C in the parent
ends every worker; a worker that dies without answering ends the run as inconclusive, and a
worker whose parent is gone ends itself.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from typing import Any

from model import typed as T
from model.budget import Stopped, time_budget

from .simulate import Batch, SimOptions, SimResult, Tally, batches, not_started, prepare, result, simulate_here
from .stops import INTERRUPTED, Stop, StopKind, stop_of
from .workers import end_all, receive, watch_parent

POLL = 0.2  # seconds between looks at the workers while no answer comes


class WorkerFailed(Exception):
    """A worker raised an error (a bug, not a verdict): the parent re-raises it."""


def simulate_swarm(
    model: T.Model, opts: SimOptions, t0: float, progress: Callable[[int, int, int], None] | None = None
) -> tuple[Tally, Stop | None, int]:
    """Every batch in `opts.workers` processes: the tally, why the run stopped early ("" if
    it did not) and the steps all workers took."""
    ctx = mp.get_context("spawn")
    tally = Tally(batches(opts))
    counter: Any = ctx.Value("q", 0)
    stop_at: Any = ctx.Value("q", tally.total)  # no batch from here on is needed
    answers: Any = ctx.Queue()
    left = None if opts.timeout is None else max(0.1, opts.timeout - (time.perf_counter() - t0))
    workers = [
        ctx.Process(target=_worker, args=(k, model, opts, left, counter, stop_at, answers), daemon=True)
        for k in range(opts.workers)
    ]
    simulated = 0
    stopped: Stop | None = None
    try:
        for w in workers:
            w.start()
        while not tally.done():
            if opts.timeout is not None and time.perf_counter() - t0 > opts.timeout:
                stopped = Stop(StopKind.TIME, opts.timeout)
                break
            answer, stopped = receive(answers, workers, "simulation worker", POLL)
            if stopped is not None:
                break
            if answer is None:
                continue
            what, k, payload = answer
            if what == "error":
                raise WorkerFailed(f"simulation worker {k + 1} failed: {payload}")
            if what == "idle":
                continue
            b: Batch = payload
            simulated += b.steps
            tally.add(b)
            if tally.best is not None:
                with stop_at.get_lock():
                    stop_at.value = min(stop_at.value, tally.best)
            if progress is not None:
                progress(sum(x.runs for x in tally.got.values()), simulated, len(tally.got))
    except KeyboardInterrupt:
        stopped = INTERRUPTED
    finally:
        end_all(workers, [answers])
    return tally, stopped, simulated


def _worker(
    k: int, model: T.Model, opts: SimOptions, timeout: float | None, counter: Any, stop_at: Any, answers: Any
) -> None:
    """Worker `k`: compile the model, then run batches until none is left."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends the workers on Ctrl-C
    watch_parent()
    t0 = time.perf_counter()
    try:
        with time_budget(timeout):
            walker = prepare(model, opts)
        deadline = None if timeout is None else t0 + timeout
        while True:
            with counter.get_lock():
                b = counter.value
                counter.value += 1
            if b >= stop_at.value:
                answers.put(("idle", k, None))
                return
            out = walker.batch(b, deadline)
            if out.stopped:
                answers.put(("idle", k, None))
                return
            if out.found is not None and out.violation is None:  # no history kept: run it again
                out = walker.batch(b, None, follow=out.found.lane)
            answers.put(("batch", k, out))
    except Stopped:  # the time budget ran out while compiling: the parent says so
        answers.put(("idle", k, None))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        answers.put(("error", k, f"{type(exc).__name__}: {exc}"))


def simulate(model: T.Model, opts: SimOptions, progress: Callable[[int, int, int], None] | None = None) -> SimResult:
    """Simulate `model`: in this process, or with `opts.workers` > 1 in worker processes. The
    time budget covers grounding and compiling too. Raises SpecError for a model that cannot be
    ground or compiled (a limit), before any worker starts."""
    t0 = time.perf_counter()
    try:
        with time_budget(opts.timeout):
            walker = prepare(model, opts)
    except Stopped as stop:
        return not_started(model, opts, stop_of(stop), time.perf_counter() - t0)
    if opts.workers > 1:
        tally, stopped, simulated = simulate_swarm(model, opts, t0, progress)
    else:
        tally, stopped, simulated = simulate_here(walker, t0, progress)
    return result(walker, tally, stopped, simulated, time.perf_counter() - t0)
