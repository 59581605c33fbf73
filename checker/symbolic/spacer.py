"""Unbounded safety proofs with z3's Fixedpoint engine (Spacer, constrained Horn clauses):
Reach(s) <- Init(s); Reach(s') <- Reach(s) and T(s, s'); the query asks for a reachable bad
state. Spacer gives no concrete trace here, so when it answers "reachable", BMC to
`--depth` produces the shortest trace."""

from __future__ import annotations

import threading
from typing import Any

import z3

from model import typed as T
from model.ground import Ground, ground

from ..layout import Layout
from ..results import HOLDS, INCONCLUSIVE, PROVED, VIOLATED, PropertyResult, RunResult
from ..stops import Stop, StopKind
from .bmc import finish, liveness, search
from .encode import Encoder
from .unroll import (
    DEFAULT_BMC_DEPTH,
    INTERRUPTED,
    Clock,
    Prop,
    SymOptions,
    Unrolling,
    bad_state,
    is_interrupt,
    safety_props,
)


class _Collect:
    """Stands in for a solver: collects what Unrolling asserts."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def add(self, xs: Any) -> None:
        self.items += xs if isinstance(xs, list) else [xs]


SPACER_DEFAULT_SECONDS = 120.0  # Spacer's budget without --timeout (it may run for hours)
HEARTBEAT = 5.0  # seconds between progress notes while z3 works on a query


class _Heartbeat:
    """Progress notes while a blocking Spacer query runs (z3 releases the GIL meanwhile)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.what = ""
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.wait(HEARTBEAT):
            self.clock.note(self.what)

    def __enter__(self) -> _Heartbeat:
        if self.clock.progress is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()


def _rest(opts: SymOptions, clock: Clock) -> float | None:
    """What `--timeout` leaves for the BMC traces (none given: no limit, Spacer's own default
    budget does not cover them)."""
    return None if opts.timeout is None else max(0.1, clock.left() or 0.0)


def spacer(model: T.Model, opts: SymOptions, gm: Ground | None = None) -> RunResult:
    """`--engine spacer`: one query per property, within `--timeout` (default
    SPACER_DEFAULT_SECONDS for the whole run)."""
    budget = opts.timeout if opts.timeout is not None else SPACER_DEFAULT_SECONDS
    clock = Clock(budget, opts.progress)
    gm = gm or ground(model)
    enc = Encoder(gm)
    props = [p for p in safety_props(enc, opts.deadlock) if opts.wants(p.name)]
    col = _Collect()
    un = Unrolling(enc, col, prefix="h")
    un.add_state()
    init = enc.init(un.states[0]) + list(col.items)
    col.items.clear()
    un.add_state()
    trans = list(col.items)
    keys = list(un.states[0])
    sorts = [un.states[0][k].sort() for k in keys]
    reach = z3.Function("Reach", *sorts, z3.BoolSort())
    fp = z3.Fixedpoint()
    fp.set(engine="spacer")
    variables = list(un.states[0].values()) + list(un.states[1].values()) + un.selectors
    fp.declare_var(*variables)
    fp.register_relation(reach)
    r0 = reach(*[un.states[0][k] for k in keys])
    r1 = reach(*[un.states[1][k] for k in keys])
    fp.rule(r0, init)
    fp.rule(r1, [r0, *trans])

    def query(p: Prop) -> Any:
        bad = bad_state(enc, p, un.envs[0], un.instances(0) if p.kind in ("deadlock", "range") else [])
        return fp.query(z3.And(r0, bad))

    out: list[PropertyResult] = []
    reachable_bad: list[Prop] = []
    stopped: Stop | None = None
    verdicts: dict[str, Any] = {}
    with _Heartbeat(clock) as beat:
        for i, p in enumerate(props):
            beat.what = f"spacer: `{p.name}` ({i + 1} of {len(props)}), budget {budget:g} s"
            clock.note(beat.what)
            left = clock.left() or 0.0
            if left <= 0:
                stopped = Stop(StopKind.TIME, budget, detail="Spacer's budget")
                break
            fp.set("timeout", max(1, int(left * 1000)))
            try:
                r = query(p)
            except z3.Z3Exception as e:  # a timeout or Ctrl-C cancels the query instead of answering unknown
                if is_interrupt(str(e)):
                    stopped = INTERRUPTED
                    break
                r = z3.unknown
            except KeyboardInterrupt:
                stopped = INTERRUPTED
                break
            if r == z3.unknown:
                reason = str(fp.reason_unknown())
                if is_interrupt(reason):
                    stopped = INTERRUPTED
                elif clock.elapsed() >= budget * 0.99:
                    stopped = Stop(StopKind.TIME, budget, detail="Spacer's budget")
                else:
                    stopped = Stop(StopKind.SOLVER, detail="Spacer gave up (incomplete)")
                break
            verdicts[p.name] = r
            if r == z3.sat:
                reachable_bad.append(p)
    depth = opts.depth or DEFAULT_BMC_DEPTH
    found = search(enc, Layout(model), reachable_bad, depth, Clock(_rest(opts, clock))) if reachable_bad else None
    if stopped is None and found is not None and found.stopped is not None and found.stopped.interrupted:
        stopped = found.stopped
    for p in props:
        span = p.prop.span if p.prop is not None else None
        r = verdicts.get(p.name)
        hit = found.hits.get(p.name) if found is not None else None
        if r is None:
            out.append(
                PropertyResult(
                    p.name, p.kind, INCONCLUSIVE, None, str(stopped) if stopped is not None else "not checked", span
                )
            )
        elif r == z3.unsat:
            if p.kind == "reachable":
                out.append(PropertyResult(p.name, p.kind, VIOLATED, None, "never reached (Spacer proof)", span))
            else:
                out.append(PropertyResult(p.name, p.kind, PROVED, None, "proved by Spacer", span))
        elif hit is not None:
            status = HOLDS if p.kind == "reachable" else VIOLATED
            msg = hit[2] or (f"`{p.name}` is reached" if p.kind == "reachable" else f"`{p.name}` is violated")
            out.append(PropertyResult(p.name, p.kind, status, hit[1], msg, span))
        elif p.kind == "reachable":
            msg = f"reachable (Spacer); no trace within depth {depth}: raise --depth"
            out.append(PropertyResult(p.name, p.kind, HOLDS, None, msg, span))
        else:
            msg = f"Spacer found a reachable violation, but BMC to depth {depth} found no trace: raise --depth"
            out.append(PropertyResult(p.name, p.kind, VIOLATED, None, msg, span))
    return finish(model, "spacer", out + liveness(model, opts), clock, found.depth if found else 0, stopped)
