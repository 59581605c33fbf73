"""Bounded model checking: one incremental QF_FD solver, the path grown one state per
depth, and each open property asked at each depth under its own activation literal (no
push/pop). The first depth a property is satisfiable at is its shortest violation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3

from model import typed as T
from model.ground import Ground, ground

from ..explicit import peak_mb
from ..layout import Layout
from ..results import HOLDS, INCONCLUSIVE, VIOLATED, PropertyResult, RunResult, Step, Trace
from . import readback
from .encode import Encoder
from .unroll import INTERRUPTED, Clock, Prop, SymOptions, Unrolling, bad_state, gave_up, safety_props


@dataclass
class Found:
    """What a bounded search found: property name -> (depth, trace)."""

    hits: dict[str, tuple[int, Trace, str]] = field(default_factory=dict)
    depth: int = -1  # the deepest depth fully checked
    stopped: str = ""


def search(enc: Encoder, layout: Layout, props: list[Prop], depth: int, clock: Clock, start: int = 0) -> Found:
    """Every property's shortest hit (violation, or goal for `reachable`) up to `depth`."""
    out = Found()
    try:
        _search(enc, layout, props, depth, clock, start, out)
    except KeyboardInterrupt:
        out.stopped = INTERRUPTED
    return out


def _search(enc: Encoder, layout: Layout, props: list[Prop], depth: int, clock: Clock, start: int, out: Found) -> None:
    solver = z3.SolverFor("QF_FD")
    un = Unrolling(enc, solver)
    open_props = list(props)
    for k in range(depth + 1):
        if k:
            clock.note(f"bmc: depth {k} of {depth}, {len(open_props)} properties open")
        un.add_state()
        if k == 0:
            solver.add(enc.init(un.states[0]))
        if k < start:
            out.depth = k
            continue
        for p in list(open_props):
            if clock.over():
                out.stopped = f"time budget {clock.timeout:g} s reached"
                return
            insts = un.instances(k) if p.kind in ("deadlock", "range") else []
            lit = z3.Bool(f"chk.{p.name}.{k}")
            solver.add(z3.Implies(lit, bad_state(enc, p, un.envs[k], insts)))
            clock.limit(solver)
            r = solver.check(lit)
            if r == z3.unknown:
                out.stopped = f"z3 gave up at depth {k}: {gave_up(solver)}"
                return
            if r == z3.sat:
                out.hits[p.name] = (k, *_trace(enc, layout, un, solver.model(), k, p))
                open_props.remove(p)
        out.depth = k
        if not open_props:
            break


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
        if found.stopped:
            why += f"; stopped: {found.stopped}"
        out.append(PropertyResult(p.name, p.kind, INCONCLUSIVE, None, why, span, bound=max(found.depth, 0)))
    return out


NO_TEMPORAL = "the symbolic engines do not check temporal properties: use the explicit engine"


def liveness(model: T.Model) -> list[PropertyResult]:
    return [
        PropertyResult(p.name, "liveness", INCONCLUSIVE, None, NO_TEMPORAL, p.span)
        for p in model.temporal
        if p.kind != "always"
    ]


def finish(
    model: T.Model, engine: str, props: list[PropertyResult], clock: Clock, depth: int, stopped: str
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


def bmc(model: T.Model, opts: SymOptions, gm: Ground | None = None, only: set[str] | None = None) -> RunResult:
    """`--engine bmc --depth K` (`only`: just these properties)."""
    clock = Clock(opts.timeout, opts.progress)
    gm = gm or ground(model)
    enc = Encoder(gm)
    props = [p for p in safety_props(enc, opts.deadlock) if only is None or p.name in only]
    found = search(enc, Layout(model), props, opts.depth, clock)
    res = results(model, props, found, "bounded model checking") + liveness(model)
    return finish(model, "bmc", res, clock, found.depth, found.stopped)
