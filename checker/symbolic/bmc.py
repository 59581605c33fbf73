"""Bounded model checking: one incremental QF_FD solver, the path grown one state per
depth, and each open property asked at each depth under its own activation literal (no
push/pop). The first depth a property is satisfiable at is its shortest violation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3

from model import typed as T
from model.ground import Ground, ground

from ..layout import Layout
from ..results import HOLDS, INCONCLUSIVE, VIOLATED, PropertyResult, RunResult, Step, Trace
from ..search import peak_mb
from ..stops import Stop, StopKind
from . import readback
from .encode import Encoder
from .unroll import DEFAULT_BMC_DEPTH, INTERRUPTED, Clock, Prop, SymOptions, Unrolling, bad_state, gave_up, safety_props


@dataclass
class Found:
    """What a bounded search found: property name -> (depth, trace)."""

    hits: dict[str, tuple[int, Trace, str]] = field(default_factory=dict)
    depth: int = -1  # the deepest depth fully checked
    stopped: Stop | None = None
    capped: str = ""  # why deepening stopped before the depth asked for (a soft time cap)


class Deepening:
    """BMC one depth at a time on one incremental solver: `next()` checks depth k+1 for every
    open property (hits at the first, hence shortest, depth)."""

    def __init__(self, enc: Encoder, layout: Layout, props: list[Prop], clock: Clock) -> None:
        self.enc, self.layout, self.clock = enc, layout, clock
        self.solver = z3.SolverFor("QF_FD")
        self.un = Unrolling(enc, self.solver)
        self.found = Found()
        self.open = list(props)

    @property
    def depth(self) -> int:
        return len(self.un.states) - 1

    def next(self, check: bool = True, cap: str = "") -> bool:
        """Unroll one more step and (if `check`) ask every open property there. False when the
        run must stop (the budget, z3 giving up, or nothing left open)."""
        enc, un, solver, clock, out = self.enc, self.un, self.solver, self.clock, self.found
        k = un.add_state()
        if k == 0:
            solver.add(enc.init(un.states[0]))
        else:
            clock.note(f"bmc: depth {k}{cap}, {len(self.open)} properties open")
        if not check:
            out.depth = k
            return True
        for p in list(self.open):
            if clock.over():
                out.stopped = Stop(StopKind.TIME, clock.timeout)
                return False
            insts = un.instances(k) if p.kind in ("deadlock", "range") else []
            lit = z3.Bool(f"chk.{p.name}.{k}")
            solver.add(z3.Implies(lit, bad_state(enc, p, un.envs[k], insts)))
            clock.limit(solver)
            r = solver.check(lit)
            if r == z3.unknown:
                out.stopped = Stop(StopKind.SOLVER, detail=f"z3 gave up at depth {k}: {gave_up(solver)}")
                return False
            if r == z3.sat:
                out.hits[p.name] = (k, *_trace(enc, self.layout, un, solver.model(), k, p))
                self.open.remove(p)
        out.depth = k
        return bool(self.open)


def search(
    enc: Encoder,
    layout: Layout,
    props: list[Prop],
    depth: int,
    clock: Clock,
    start: int = 0,
    seconds: float | None = None,
) -> Found:
    """Every property's shortest hit (violation, or goal for `reachable`) up to `depth`,
    deepening for at most `seconds` (a soft cap: the depth reached is reported, the run is not
    marked as stopped by its budget)."""
    d = Deepening(enc, layout, props, clock)
    t_end = None if seconds is None else clock.elapsed() + seconds
    cap = f" of {depth}" if seconds is None else f" (deepening up to {depth} for {seconds:.0f} s)"
    try:
        while d.depth < depth:
            if not d.next(d.depth + 1 >= start, cap):
                break
            if t_end is not None and clock.elapsed() >= t_end and d.depth < depth:
                d.found.capped = f"deepening stopped after {seconds:.0f} s"
                break
    except KeyboardInterrupt:
        d.found.stopped = INTERRUPTED
    return d.found


def _trace(enc: Encoder, layout: Layout, un: Unrolling, zm: Any, k: int, p: Prop) -> tuple[Trace, str]:
    tr = readback.trace(enc, layout, zm, un.states[: k + 1], un.picks(zm, k))
    if p.kind != "range":
        return tr, ""
    # the failing step: the first instance whose error condition holds, replayed concretely
    last = readback.leafmap(enc, zm, un.states[k])
    for e in un.instances(k):
        if z3.is_true(zm.eval(e.err, model_completion=True)):
            got = readback.failure(e.inst, last)
            msg, after = got if got is not None else ("runtime error (symbolic encoding)", last)
            s = readback.step(enc, layout, e.inst, after)
            tr.steps.append(Step(s.action, s.args, s.state))
            return tr, f"{e.inst.label}: {msg}"
    return tr, "runtime error"


def results(model: T.Model, props: list[Prop], found: Found, bound_word: str) -> list[PropertyResult]:
    """Verdicts from a bounded search: hits are violations (or reached goals); everything
    else is inconclusive with the depth checked as its bound."""
    out = []
    for p in props:
        span = p.prop.span if p.prop is not None else None
        hit = found.hits.get(p.name)
        if hit is not None:
            _, tr, rmsg = hit
            if p.kind == "reachable":
                out.append(PropertyResult(p.name, p.kind, HOLDS, tr, f"`{p.name}` is reached", span))
            else:
                msg = {
                    "invariant": f"invariant `{p.name}` is violated",
                    "deadlock": "a reachable state has no enabled action",
                    "range": rmsg,
                }[p.kind]
                out.append(PropertyResult(p.name, p.kind, VIOLATED, tr, msg, span))
            continue
        why = (
            f"no {'witness' if p.kind == 'reachable' else 'violation'} up to depth {max(found.depth, 0)} ({bound_word})"
        )
        if found.stopped is not None:
            why += f"; stopped: {found.stopped}"
        elif found.capped:
            why += f"; {found.capped}"
        out.append(PropertyResult(p.name, p.kind, INCONCLUSIVE, None, why, span, bound=max(found.depth, 0)))
    return out


NO_TEMPORAL = "the symbolic engines do not check temporal properties: use the explicit engine"


def liveness(model: T.Model, opts: SymOptions) -> list[PropertyResult]:
    """Temporal properties (asked for explicitly): inconclusive, with the reason."""
    return [
        PropertyResult(p.name, "liveness", INCONCLUSIVE, None, NO_TEMPORAL, p.span)
        for p in model.temporal
        if p.kind != "always" and opts.wants(p.name)
    ]


def finish(
    model: T.Model, engine: str, props: list[PropertyResult], clock: Clock, depth: int, stopped: Stop | None
) -> RunResult:
    for pr in props:
        pr.expected = model.expects.get(pr.name)
    return RunResult(
        spec=model.path,
        config=model.config.name,
        constants=dict(model.consts),
        engine=engine,
        properties=props,
        depth=max(depth, 0),
        seconds=clock.elapsed(),
        peak_mb=peak_mb(),
        stopped=stopped,
    )


def bmc(
    model: T.Model,
    opts: SymOptions,
    gm: Ground | None = None,
    only: set[str] | None = None,
    seconds: float | None = None,
) -> RunResult:
    """`--engine bmc --depth K` (`only`: just these properties; `seconds`: stop deepening
    after this long, reporting the depth reached)."""
    clock = Clock(opts.timeout, opts.progress)
    gm = gm or ground(model)
    enc = Encoder(gm)
    props = [p for p in safety_props(enc, opts.deadlock) if (only is None or p.name in only) and opts.wants(p.name)]
    found = search(enc, Layout(model), props, opts.depth or DEFAULT_BMC_DEPTH, clock, seconds=seconds)
    res = results(model, props, found, "bounded model checking") + liveness(model, opts)
    return finish(model, "bmc", res, clock, found.depth, found.stopped)
