"""`explore`: the explicit-state engine end to end. Ground and compile the model, enumerate
the initial states, run the breadth-first driver on the chosen backend, then the verdicts
and (on the recorded transitions) liveness. Every counterexample it returns is a shortest one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from model import typed as T
from model.ground import Ground, ground

from ..codegen import compile_model
from ..kernels import words
from ..layout import Layout
from ..results import RunResult
from ..stops import INTERRUPTED, Stop, StopKind
from .backends import choose
from .budget import Budget, Clock, Progress
from .checkpoint import Checkpointing, Lock, Resumed, Saver, identity
from .driver import search
from .exploration import Exploration
from .resume import load
from .verdicts import finish


def explore(
    model: T.Model,
    budget: Budget | None = None,
    deadlock: bool = True,
    progress: Callable[[Progress], None] | None = None,
    progress_every: float = 1.0,
    kernel: str = "auto",
    record_edges: bool | None = None,
    checkpoint: Checkpointing | None = None,
) -> tuple[RunResult, Exploration]:
    """`kernel`: the successor backend (see `backends.choose`): "auto" (numpy kernels where
    the model fits them, else compiled Python; C kernels once the search is big enough and gcc
    has built them), "native", "frontier", "single" or "reference".
    `record_edges`: keep every transition as `Exploration.edges` (None: when the model has
    temporal properties, which liveness checks on them).
    `checkpoint`: write checkpoints into its folder, and first go on from the one there if
    it says so (a CheckpointError when that checkpoint is not this search's or is damaged)."""
    budget = budget or Budget()
    model = always_as_invariants(model)
    if record_edges is None:
        record_edges = any(p.kind not in ("invariant", "reachable") for p in model.properties)
    t0 = time.perf_counter()
    gm = ground(model)
    comp = compile_model(gm)
    actions = list(dict.fromkeys(inst.action for inst in gm.instances))
    act_of = np.array([actions.index(i.action) for i in gm.instances], dtype=np.int64)
    backend = choose(gm, comp, kernel, act_of, len(actions))
    clock = Clock(t0, budget.timeout, progress, progress_every, budget.max_memory)
    k = words(comp.layout)
    resumed: Resumed | None = None
    saver: Saver | None = None
    init: list[int] = []
    stop: Stop | None = None
    if checkpoint is not None:
        ident = identity(model, gm, k)
        lock = Lock(checkpoint.folder)  # before reading: no other run writes it meanwhile
        try:
            resumed = load(checkpoint, ident, gm) if checkpoint.resume else None
        except BaseException:
            lock.release()
            raise
        saver = Saver(checkpoint, ident, resumed, lock)
    if resumed is None:
        init, stop = initial_states(gm, comp.layout, budget, clock)
        if stop is not None and saver is not None:
            saver.lock.release()  # a partial set of initial states is no start to go on from
            saver = None
    out = search(gm, comp, backend, init, budget, clock, stop, record_edges, k, saver, resumed)
    check_deadlock = deadlock and not model.allow_deadlock
    if not check_deadlock:
        out.found.dead_at = -1
    res = finish(model, out.exploration, out.found, out.stop, time.perf_counter() - t0, check_deadlock)
    from ..liveness import add_liveness  # liveness reads the exploration: imported late, it imports search

    return add_liveness(model, res, out.exploration, budget), out.exploration


def initial_states(gm: Ground, lay: Layout, budget: Budget, clock: Clock) -> tuple[list[int], Stop | None]:
    """The distinct packed initial states in canonical order, and why their enumeration
    stopped early (None if it did not): `= any` over a large type meets the state and time
    budgets and Ctrl-C here already. Kept: at most `max_states` (more would exceed it)."""
    seen: dict[int, None] = {}  # insertion-ordered: hashed de-duplication
    cap = budget.max_states
    try:
        for k, st in enumerate(gm.initial_states()):
            s = lay.pack(st)
            if s in seen:
                continue
            if cap is not None and len(seen) >= cap:
                return list(seen), Stop(StopKind.STATES, cap)
            seen[s] = None
            if k & 1023 == 1023:
                stop = clock.check(len(seen), 0, 0, 0)
                if stop is not None:
                    return list(seen), stop
    except KeyboardInterrupt:
        return list(seen), INTERRUPTED
    return list(seen), None


def always_as_invariants(model: T.Model) -> T.Model:
    """`always P` is the invariant P: the search checks it in every state it reaches."""
    if not any(p.kind == "always" for p in model.properties):
        return model
    props = [replace(p, kind="invariant") if p.kind == "always" else p for p in model.properties]
    return replace(model, properties=props)
