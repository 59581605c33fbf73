"""`explore_distributed`: the explicit engine with its store partitioned across Ray actors.
The same steps as `search.engine.explore` (ground, compile, initial states, verdicts,
liveness) around `levels.run_levels` instead of the one-process driver. Invariants, range
errors and deadlocks are decided in the workers; liveness needs the whole graph, so it is
gathered on this machine when it fits, and is inconclusive with the reason when not."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from model import typed as T
from model.ground import ground

from ..codegen import compile_model
from ..kernels import words
from ..liveness import KINDS as LIVENESS
from ..liveness import add_liveness
from ..liveness.check import too_large
from ..results import INCONCLUSIVE, PropertyResult, RunResult
from ..search import Budget, Clock, Exploration, Progress, always_as_invariants
from ..search.engine import initial_states
from ..search.tally import Tally
from ..search.verdicts import finish
from ..stops import lost_worker
from .gather import gather, traces
from .levels import Stats, WorkerLost, run_levels
from .runtime import Runtime

GATHERED_BYTES = 36  # per state, beside liveness's own estimate: words (k=1), parent, instance, index


@dataclass
class Distributed:
    result: RunResult
    exploration: Exploration | None  # every state, when it was gathered (liveness, pictures)
    stats: Stats


def explore_distributed(
    model: T.Model,
    runtime: Runtime,
    budget: Budget | None = None,
    deadlock: bool = True,
    progress: Callable[[Progress], None] | None = None,
    progress_every: float = 1.0,
    kernel: str = "auto",
    whole: bool = False,
    on_level: Callable[[int, list[int]], None] | None = None,
) -> Distributed:
    """`whole`: gather every state even without liveness properties (the report's pictures)."""
    budget = budget or Budget()
    model = always_as_invariants(model)
    temporal = [p for p in model.properties if p.kind in LIVENESS]
    t0 = time.perf_counter()
    gm = ground(model)
    comp = compile_model(gm)
    k = words(comp.layout)
    clock = Clock(t0, budget.timeout, progress, progress_every, budget.max_memory)
    init, stop = initial_states(gm, comp.layout, budget, clock)
    ray = runtime.start()
    actors = runtime.actors(runtime.count())
    reusable = False
    try:
        local = runtime.address is None  # the memory budget covers the workers together
        out = run_levels(
            ray, actors, model, kernel, gm, init, k, budget, clock, stop, on_level, local, runtime.remember_sent
        )
        found = out.tally.findings(gm, out.depth)
        check_deadlock = deadlock and not model.allow_deadlock
        if not check_deadlock:
            found.dead_at = -1
        refused = ""
        if (temporal or whole) and out.stop is None:
            refused = too_large(out.book.total, found.transitions, budget.max_graph_states, budget.max_graph_bytes)
            if not refused and _gather_too_large(out.book.total, k):
                refused = "gathering the states on this machine needs more memory than is available"
        full = bool(temporal or whole) and out.stop is None and not refused
        try:
            if full:
                ex = gather(ray, actors, out.book, gm, comp, k)
            else:
                targets = [*found.inv_found.values(), *found.reach_found.values(), found.dead_at]
                targets += [found.range_err[0]] if found.range_err is not None else []
                ex = traces(ray, actors, out.book, gm, comp, targets)
        except WorkerLost as e:  # after the search: its findings cannot be shown, so none stand
            out.stop, out.lost, full = lost_worker(e), True, False
            found = Tally(gm).findings(gm, out.depth)
            ex = traces(ray, actors, out.book, gm, comp, [])
        ex.complete = out.stop is None
        reusable = not out.lost
    finally:
        if not reusable:
            runtime.discard()
    res = finish(model, ex, found, out.stop, time.perf_counter() - t0, check_deadlock)
    res.peak_mb = max(res.peak_mb, max(out.stats.peak_rss, default=0) / 2**20)
    if full:
        res = add_liveness(model, res, ex, budget)
    elif temporal:
        why = (
            f"the search stopped ({res.stopped}); liveness needs every reachable state"
            if res.stopped
            else f"liveness needs the whole state graph on one machine: {refused}"
        )
        res.properties += [
            PropertyResult(p.name, "liveness", INCONCLUSIVE, None, why, p.span, expected=model.expects.get(p.name))
            for p in temporal
        ]
    return Distributed(res, ex if full else None, out.stats)


def _gather_too_large(states: int, k: int) -> bool:
    from ..memory import available_bytes

    avail = available_bytes()
    return avail is not None and states * (GATHERED_BYTES + 8 * (k - 1)) > avail * 0.8
