"""Explicit-state engine: breadth-first search over packed states with the compiled
successor function. Every counterexample it returns is a shortest one."""

from __future__ import annotations

import os
import resource
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from model import typed as T
from model.errors import Span
from model.ground import EvalError, Ground, evaluate, execute, ground

from .codegen import Compiled, StepError, compile_model
from .edges import Edges
from .layout import Layout
from .memory import rss_bytes, size_text
from .results import HOLDS, INCONCLUSIVE, VIOLATED, Coverage, PropertyResult, RunResult, Step, Trace
from .states import arg_json, state_json, step


@dataclass
class Budget:
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    max_graph_states: int | None = None  # liveness: refuse graphs above this many states (deprecated)
    max_graph_bytes: int | None = None  # liveness: refuse graphs needing more memory (None: what is available)
    max_memory: int | None = None  # the search stops when the process holds more (bytes)


MEMORY_EVERY = 0.25  # seconds between two looks at the process's memory


@dataclass
class Progress:
    states: int
    transitions: int
    depth: int
    frontier: int
    seconds: float
    note: str = ""  # the symbolic engines: what they work on (no states to count)


@dataclass
class Pacer:
    """The time budget and the progress reports, checked between batches of states (both paths)."""

    t0: float
    timeout: float | None
    progress: Callable[[Progress], None] | None
    every: float
    max_memory: int | None = None
    last: float = 0.0
    mem_last: float = 0.0

    def __post_init__(self) -> None:
        self.last = self.t0

    def check(self, states: int, transitions: int, depth: int, frontier: int) -> str:
        """Why to stop now (the time or memory budget ran out), or ""; reports progress when due."""
        now = time.perf_counter()
        if self.timeout is not None and now - self.t0 > self.timeout:
            return f"time budget {self.timeout:g} s reached"
        if self.max_memory is not None and now - self.mem_last >= MEMORY_EVERY:
            self.mem_last = now  # reading /proc costs microseconds: a few times a second is enough
            rss = rss_bytes()
            if rss is not None and rss > self.max_memory:
                return f"memory budget {size_text(self.max_memory)} reached ({size_text(rss)} in use)"
        if self.progress is not None and now - self.last >= self.every:
            self.last = now
            self.progress(Progress(states, transitions, depth, frontier, now - self.t0))
        return ""


@dataclass
class Exploration:
    """What a search reached: states in BFS order with parent links (for traces, graphs)."""

    ground: Ground
    compiled: Compiled
    states: list[int] = field(default_factory=list)
    parent: array = field(default_factory=lambda: array("q"))
    action: array = field(default_factory=lambda: array("l"))
    index: dict[int, int] = field(default_factory=dict)
    complete: bool = False
    edges: Edges | None = None  # every transition, when the search was asked to record them and completed

    def trace(self, i: int) -> Trace:
        chain = []
        while i >= 0:
            chain.append(i)
            i = self.parent[i]
        chain.reverse()
        m, lay = self.ground.model, self.compiled.layout
        steps = []
        for j in chain:
            a = self.action[j]
            steps.append(step(m, lay, self.ground.instances[a] if a >= 0 else None, self.states[j]))
        return Trace(steps)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def explore(
    model: T.Model,
    budget: Budget | None = None,
    deadlock: bool = True,
    progress: Callable[[Progress], None] | None = None,
    progress_every: float = 1.0,
    kernel: str | None = None,
    record_edges: bool | None = None,
) -> tuple[RunResult, Exploration]:
    """`kernel`: "single" (one state at a time), "frontier" (numpy kernels over whole levels),
    or None / "auto": frontier where the model fits it (env PLUGCHECK_KERNEL overrides None).
    `record_edges`: keep every transition as `Exploration.edges` (None: when the model has
    temporal properties, which liveness checks on them)."""
    budget = budget or Budget()
    model = _always_as_invariants(model)
    if record_edges is None:
        record_edges = any(p.kind not in ("invariant", "reachable") for p in model.properties)
    t0 = time.perf_counter()
    gm = ground(model)
    comp = compile_model(gm)
    kernel = kernel or os.environ.get("PLUGCHECK_KERNEL") or "auto"
    if kernel != "single":
        from .frontier import explore_frontier, frontier_kernels

        kern = frontier_kernels(gm, comp, forced=kernel == "frontier")
        if kern is not None:
            deadlock_on = deadlock and not model.allow_deadlock
            res, ex = explore_frontier(
                model, gm, comp, kern, budget, deadlock_on, progress, progress_every, t0, record_edges
            )
            return _with_liveness(model, res, ex, budget), ex
    lay = comp.layout
    ex = Exploration(gm, comp)
    states, parent, action, index = ex.states, ex.parent, ex.action, ex.index

    inv_props = [p for p in model.properties if p.kind == "invariant"]
    reach_props = [p for p in model.properties if p.kind == "reachable"]
    inv_found: dict[int, int] = {}  # invariant number -> state index
    reach_found: dict[int, int] = {}
    active_inv = (1 << len(inv_props)) - 1
    pending_reach = (1 << len(reach_props)) - 1
    dead_at = -1
    range_err: tuple[int, int, str] | None = None  # (state index, instance, message)
    check_deadlock = deadlock and not model.allow_deadlock

    ninst = len(gm.instances)
    fired = bytearray(ninst)
    inst_trans = [0] * ninst
    action_of = [inst.action for inst in gm.instances]
    actions = [a.name for a in model.actions]
    enabled_states = dict.fromkeys(actions, 0)

    def add(s: int, par: int, act: int) -> None:
        nonlocal active_inv, pending_reach
        index[s] = len(states)
        states.append(s)
        parent.append(par)
        action.append(act)
        if active_inv:
            bad = comp.bad_invariants(s) & active_inv
            if bad:
                for k in range(len(inv_props)):
                    if bad >> k & 1:
                        inv_found[k] = len(states) - 1
                active_inv &= ~bad
        if pending_reach:
            got = comp.reached(s) & pending_reach
            if got:
                for k in range(len(reach_props)):
                    if got >> k & 1:
                        reach_found[k] = len(states) - 1
                pending_reach &= ~got

    pacer = Pacer(t0, budget.timeout, progress, progress_every, budget.max_memory)
    init, stopped = initial_states(gm, lay, budget, pacer)
    for s in init:
        add(s, -1, -1)

    transitions = 0
    depth = 0
    level_start, level_end = 0, len(states)
    n_done = 0
    e_off, e_succ, e_inst = array("q", [0]), array("q"), array("i")
    try:
        while level_start < level_end and not stopped:
            if budget.max_depth is not None and depth >= budget.max_depth:
                stopped = f"depth budget {budget.max_depth} reached"
                break
            for i in range(level_start, level_end):
                s = states[i]
                try:
                    succ = comp.successors(s)
                except StepError as exc:
                    if range_err is None:
                        range_err = (i, exc.iid, exc.message)
                    fired[exc.iid] = 1
                    succ = _successors_skipping(comp, s, exc.iid)
                if not succ and check_deadlock and dead_at < 0:
                    dead_at = i
                seen_actions = set()
                for iid, n in succ:
                    transitions += 1
                    inst_trans[iid] += 1
                    fired[iid] = 1
                    seen_actions.add(action_of[iid])
                    if n not in index:
                        add(n, i, iid)
                    if record_edges:
                        e_succ.append(index[n])
                        e_inst.append(iid)
                if record_edges:
                    e_off.append(len(e_succ))
                for a in seen_actions:
                    enabled_states[a] += 1
                n_done += 1
                if n_done & 1023 == 0:
                    stopped = pacer.check(len(states), transitions, depth, level_end - i)
                    if stopped:
                        raise _Stop
                if budget.max_states is not None and len(states) >= budget.max_states:
                    stopped = f"state budget {budget.max_states} reached"
                    raise _Stop
            depth += 1
            level_start, level_end = level_end, len(states)
    except _Stop:
        pass
    except KeyboardInterrupt:
        stopped = "interrupted"
    ex.complete = not stopped
    if record_edges and not stopped:
        ex.edges = Edges(
            np.frombuffer(e_off, dtype=np.int64), np.frombuffer(e_succ, dtype=np.int64), np.frombuffer(e_inst, np.int32)
        )
    secs = time.perf_counter() - t0
    if level_start >= level_end and depth > 0:
        depth -= 1  # the last level expanded had no new states

    found = Findings(inv_found, reach_found, dead_at, range_err, fired, inst_trans, enabled_states, transitions, depth)
    return _with_liveness(model, finish(model, ex, found, stopped, secs, check_deadlock), ex, budget), ex


def initial_states(gm: Ground, lay: Layout, budget: Budget, pacer: Pacer) -> tuple[list[int], str]:
    """The distinct packed initial states in canonical order, and why their enumeration
    stopped early ("" if it did not): `= any` over a large type meets the state and time
    budgets and Ctrl-C here already. Kept: at most `max_states` (more would exceed it)."""
    seen: dict[int, None] = {}  # insertion-ordered: hashed de-duplication
    cap = budget.max_states
    try:
        for k, st in enumerate(gm.initial_states()):
            s = lay.pack(st)
            if s in seen:
                continue
            if cap is not None and len(seen) >= cap:
                return list(seen), f"state budget {cap} reached"
            seen[s] = None
            if k & 1023 == 1023:
                stopped = pacer.check(len(seen), 0, 0, 0)
                if stopped:
                    return list(seen), stopped
    except KeyboardInterrupt:
        return list(seen), "interrupted"
    return list(seen), ""


def _always_as_invariants(model: T.Model) -> T.Model:
    """`always P` is the invariant P: the search checks it in every state it reaches."""
    if not any(p.kind == "always" for p in model.properties):
        return model
    props = [replace(p, kind="invariant") if p.kind == "always" else p for p in model.properties]
    return replace(model, properties=props)


def _with_liveness(model: T.Model, res: RunResult, ex: Exploration, budget: Budget) -> RunResult:
    """Add the liveness verdicts (checked on the recorded transitions after a complete search)."""
    from .liveness import add_liveness

    return add_liveness(model, res, ex, budget)


@dataclass
class Findings:
    """What a search found, in the terms both the single-state and the frontier path share."""

    inv_found: dict[int, int]  # invariant number -> first violating state index
    reach_found: dict[int, int]  # reachable number -> first state index where it holds
    dead_at: int  # first deadlocked state index, or -1
    range_err: tuple[int, int, str] | None  # (state index, instance, message)
    fired: bytearray  # per instance
    inst_trans: list[int]  # transitions per instance
    enabled_states: dict[str, int]  # per action: states where it has a successor
    transitions: int
    depth: int


def finish(
    model: T.Model, ex: Exploration, found: Findings, stopped: str, secs: float, check_deadlock: bool
) -> RunResult:
    """Verdicts, traces and coverage from what a search found."""
    gm, lay, states = ex.ground, ex.compiled.layout, ex.states
    inv_found, reach_found, dead_at, range_err = found.inv_found, found.reach_found, found.dead_at, found.range_err
    fired, inst_trans, enabled_states, depth = found.fired, found.inst_trans, found.enabled_states, found.depth
    inv_props = [p for p in model.properties if p.kind == "invariant"]
    reach_props = [p for p in model.properties if p.kind == "reachable"]
    props: list[PropertyResult] = []
    for k, p in enumerate(inv_props):
        if k in inv_found:
            props.append(
                PropertyResult(
                    p.name, "invariant", VIOLATED, ex.trace(inv_found[k]), f"invariant `{p.name}` is violated", p.span
                )
            )
        else:
            props.append(_unviolated(p.name, "invariant", p.span, stopped, depth))
    for k, p in enumerate(reach_props):
        if k in reach_found:
            props.append(
                PropertyResult(p.name, "reachable", HOLDS, ex.trace(reach_found[k]), f"`{p.name}` is reached", p.span)
            )
        elif stopped:
            props.append(
                PropertyResult(
                    p.name,
                    "reachable",
                    INCONCLUSIVE,
                    None,
                    f"not reached before the search stopped ({stopped})",
                    p.span,
                    bound=depth,
                )
            )
        else:
            props.append(
                PropertyResult(
                    p.name, "reachable", VIOLATED, None, f"`{p.name}` is never reached in any reachable state", p.span
                )
            )
    if check_deadlock:
        if dead_at >= 0:
            props.append(
                PropertyResult(
                    "deadlock", "deadlock", VIOLATED, ex.trace(dead_at), "a reachable state has no enabled action"
                )
            )
        else:
            props.append(_unviolated("deadlock", "deadlock", None, stopped, depth))
    if range_err is not None:
        i, iid, msg = range_err
        tr = ex.trace(i)
        inst = gm.instances[iid]
        try:
            before = lay.unpack(states[i])
            evaluate(inst.guard, before)  # a guard that fails changes nothing: show the state before
            after = state_json(model, lay, execute(inst, before))
        except EvalError:
            after = tr.steps[-1].state
        tr.steps.append(Step(inst.action, arg_json(inst), after))
        props.append(PropertyResult("range", "range", VIOLATED, tr, f"{inst.label}: {msg}"))
    else:
        props.append(_unviolated("range", "range", None, stopped, depth))
    for pr in props:
        pr.expected = model.expects.get(pr.name)

    coverage = []
    warnings = []
    for act in model.actions:
        ids = [inst.id for inst in gm.instances if inst.action == act.name]
        c = Coverage(
            act.name, len(ids), sum(fired[i] for i in ids), enabled_states[act.name], sum(inst_trans[i] for i in ids)
        )
        coverage.append(c)
        if c.fired == 0 and not stopped:
            warnings.append(f"action `{act.name}` never fires: its guard is false in every reachable state")
    res = RunResult(
        spec=model.path,
        config=model.config.name,
        constants=dict(model.consts),
        engine="explicit",
        properties=props,
        states=len(states),
        transitions=found.transitions,
        depth=depth,
        seconds=secs,
        peak_mb=peak_mb(),
        coverage=coverage,
        warnings=warnings,
        stopped=stopped,
    )
    return res


def _unviolated(name: str, kind: str, span: Span | None, stopped: str, depth: int) -> PropertyResult:
    if stopped:
        return PropertyResult(
            name,
            kind,
            INCONCLUSIVE,
            None,
            f"no violation up to depth {depth}, but the search stopped: {stopped}",
            span,
            bound=depth,
        )  # type: ignore[arg-type]
    return PropertyResult(name, kind, HOLDS, None, "", span)  # type: ignore[arg-type]


def _successors_skipping(comp: Compiled, s: int, bad: int) -> list[tuple[int, int]]:
    """Successors of a state where instance `bad` fails: the others still count (the
    failure is reported once as a range violation)."""
    from .codegen import StepError as _SE

    skip = {bad}
    while True:
        try:
            return [x for x in _succ_except(comp, s, skip)]
        except _SE as exc:
            skip.add(exc.iid)


def _succ_except(comp: Compiled, s: int, skip: set[int]) -> list[tuple[int, int]]:
    # re-run instance by instance through the reference path for the failing state only
    from model.ground import evaluate

    gm_out = []
    ex_ground = comp.ground
    lay = comp.layout
    st = lay.unpack(s)
    for inst in ex_ground.instances:
        if inst.id in skip:
            continue
        try:
            if not evaluate(inst.guard, st):
                continue
            gm_out.append((inst.id, lay.pack(execute(inst, st, check_ranges=True))))
        except EvalError:
            continue
    return gm_out


class _Stop(Exception):
    pass
