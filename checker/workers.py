"""Helpers for the spawned worker processes of `check --jobs` and `simulate --workers`: ending
every worker whatever happened, and a worker that ends itself once its parent is gone."""

from __future__ import annotations

import os
import queue
import threading
import time
from typing import Any

from .stops import Stop, StopKind


def end_all(workers: list[Any], queues: list[Any]) -> None:
    """Kill the workers still running and wait for them; let the queues go without flushing
    (a worker killed mid-write must not hang the parent).

    SIGKILL, not SIGTERM: a forked worker that has not yet dropped the parent's signal
    forwarding (`stopping`) still has its handler and wakeup pipe, so a SIGTERM there would
    reach the parent's watcher and interrupt the parent (seen as "plugcheck: interrupted" on a
    loaded machine). A worker sets SIGTERM to its default action anyway: nothing is lost."""
    for w in workers:
        if w.is_alive():
            w.kill()
    for w in workers:
        w.join(5)
    for q in queues:
        q.cancel_join_thread()


def watch_parent() -> None:
    """In a worker: end this process once its parent is gone (killed without the chance to
    end it), from a daemon thread."""
    threading.Thread(target=_orphan_watch, args=(os.getppid(),), daemon=True).start()


def _orphan_watch(parent: int) -> None:
    while os.getppid() == parent:  # the process is handed to another parent when its own dies
        time.sleep(1.0)
    os._exit(1)


def dead(workers: list[Any], what: str) -> Stop | None:
    """Why a run cannot go on (a worker killed or crashed, or every worker gone), or None.
    `what` names the workers in the message ("simulation worker", "check worker")."""
    for k, w in enumerate(workers):
        if not w.is_alive() and w.exitcode != 0:
            detail = f"{what} {k + 1} (pid {w.pid}) ended unexpectedly (exit code {w.exitcode})"
            return Stop(StopKind.WORKER, detail=detail)
    if not any(w.is_alive() for w in workers):
        return Stop(StopKind.WORKER, detail=f"every {what} ended before the work was done")
    return None


def receive(answers: Any, workers: list[Any], what: str, poll: float) -> tuple[Any, Stop | None]:
    """The next answer from the workers' queue: (answer, None); (None, None) when none came
    within `poll` seconds; (None, why) when the workers cannot answer any more. A worker's
    queue is flushed before the worker ends, so what it sent just before ending may arrive
    after it is seen gone: the queue is read once more before the run is given up."""
    try:
        return answers.get(timeout=poll), None
    except queue.Empty:
        pass
    gone = dead(workers, what)
    if gone is None:
        return None, None
    try:
        return answers.get(timeout=poll), None
    except queue.Empty:
        return None, gone
