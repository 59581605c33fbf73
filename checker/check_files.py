"""`plugcheck check` over several spec files: in this process one after the other, or with
`--jobs N` in N worker processes, one file per task, with the same results in the same order.

Each worker loads its file, runs every planned configuration and sends back the items
(results, skips, notes) or the file's SpecError. The parent hands them on in file order, so
the output, the JSON document and the reports do not depend on N or on which file finished
first. Each worker gets 1/N of the memory budget and proves induction's action groups in its
own process (the parallelism is across files). Ctrl-C (SIGTERM, SIGHUP) in the parent ends
every worker, keeps the files already checked and ends with a `Cut` naming the files left;
a worker that dies without answering ends the run the same way, as inconclusive.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from model import SpecError, load_spec

from .results import RunResult
from .run import Note, Options, Skipped, check_spec
from .search import Progress
from .stops import INTERRUPTED, Stop
from .workers import end_all, receive, watch_parent

POLL = 0.2  # seconds between looks at the workers while no answer comes

Item = RunResult | Skipped | Note


@dataclass
class Cut:
    """The run ended before every file was checked: why, and the files not checked."""

    stop: Stop
    left: list[Path]


def check_files(
    files: list[Path], opts: Options, jobs: int, progress: Callable[[Progress], None] | None = None
) -> Iterator[tuple[Path, Item | SpecError] | Cut]:
    """(file, item) in file order, items of one file in the order its configs run; a file's
    SpecError as its item. `progress` is shown only when the files run in this process."""
    if jobs <= 1 or len(files) <= 1:
        yield from _here(files, opts, progress)
    else:
        yield from _workers(files, opts, min(jobs, len(files)))


def _here(
    files: list[Path], opts: Options, progress: Callable[[Progress], None] | None
) -> Iterator[tuple[Path, Item | SpecError]]:
    for f in files:
        try:
            for item in check_spec(load_spec(f), opts, progress):
                yield f, item
        except SpecError as e:
            yield f, e


def _worker_options(opts: Options, jobs: int) -> Options:
    budget = opts.budget
    if budget.max_memory is not None:
        budget = replace(budget, max_memory=budget.max_memory // jobs)
    return replace(opts, budget=budget, jobs=1)


def _workers(files: list[Path], opts: Options, jobs: int) -> Iterator[tuple[Path, Item | SpecError] | Cut]:
    # fork where the platform has it: the worker starts with every module imported and the
    # parser built (spawn would import numpy, scipy, z3 and lark again in each worker)
    ctx: Any = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    tasks: Any = ctx.Queue()
    answers: Any = ctx.Queue()
    for k, f in enumerate(files):
        tasks.put((k, f))
    for _ in range(jobs):
        tasks.put(None)
    wopts = _worker_options(opts, jobs)
    workers = [ctx.Process(target=_work, args=(tasks, answers, wopts), daemon=True) for _ in range(jobs)]
    got: dict[int, list[Item] | SpecError] = {}
    nxt = 0
    cut: Cut | None = None
    try:
        for w in workers:
            w.start()
        while nxt < len(files):
            while nxt in got:
                done = got.pop(nxt)
                if isinstance(done, SpecError):
                    yield files[nxt], done
                else:
                    for item in done:
                        yield files[nxt], item
                nxt += 1
            if nxt >= len(files):
                break
            answer, gone = receive(answers, workers, "check worker", POLL)
            if gone is not None:
                cut = Cut(gone, files[nxt:])
                break
            if answer is None:
                continue
            k, payload = answer
            if isinstance(payload, BaseException) and not isinstance(payload, SpecError):
                raise payload  # an internal error in a worker: the CLI reports it as one
            got[k] = payload
    except KeyboardInterrupt:
        cut = Cut(INTERRUPTED, files[nxt:])
    finally:
        end_all(workers, [tasks, answers])
    if cut is not None:
        yield cut


def _work(tasks: Any, answers: Any, opts: Options) -> None:
    """A worker: check files until the queue says stop. Signals are the parent's business: it
    ends the workers on Ctrl-C, SIGTERM and SIGHUP (a forked worker also drops the parent's
    signal forwarding, which would otherwise interrupt the parent when a worker is ended)."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    watch_parent()
    while True:
        task = tasks.get()
        if task is None:
            return
        k, f = task
        try:
            answers.put((k, [item for item in check_spec(load_spec(f), opts)]))
        except SpecError as e:
            answers.put((k, e))
        except Exception as exc:  # noqa: BLE001 - a bug: the parent raises it as an internal error
            answers.put((k, RuntimeError(f"check worker failed on {f}: {type(exc).__name__}: {exc}")))
