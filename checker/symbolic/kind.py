"""k-induction with simple-path constraints: the safety properties together (invariants,
range, deadlock) are proved when no loop-free path of k steps from any state keeps them
for k states and breaks them at the last, and BMC finds no violation in the first k
steps. Violations come from the base case (BMC), with shortest traces."""

from __future__ import annotations

from typing import Any

import z3

from model import typed as T
from model.ground import Ground, ground

from ..layout import Layout
from ..results import PROVED, PropertyResult, RunResult
from ..stops import Stop, StopKind
from .bmc import Deepening, finish, liveness, results
from .encode import Encoder
from .unroll import DEFAULT_BMC_DEPTH, INTERRUPTED, Clock, Prop, SymOptions, Unrolling, bad_state, gave_up, safety_props


def _distinct(a: dict[Any, Any], b: dict[Any, Any]) -> Any:
    return z3.Or([a[k] != b[k] for k in a])


class StepCase:
    """The step case on its own incremental solver, one k at a time: k safe states on a
    loop-free path, then a bad one."""

    def __init__(self, enc: Encoder, props: list[Prop]) -> None:
        self.enc, self.props = enc, props
        self.solver = z3.SolverFor("QF_FD")
        self.un = Unrolling(enc, self.solver, prefix="k")

    def holds_at(self, clock: Clock) -> bool | None:
        """Unroll one more state; True if the step case holds at this k, None if z3 gave up."""
        enc, un, solver, props = self.enc, self.un, self.solver, self.props
        k = un.add_state()
        if k > 0:
            prev = k - 1
            solver.add([z3.Not(bad_state(enc, p, un.envs[prev], _insts(un, p, prev))) for p in props])
            solver.add([_distinct(un.states[j], un.states[k]) for j in range(k)])
        lit = z3.Bool(f"kstep.{k}")
        solver.add(z3.Implies(lit, z3.Or([bad_state(enc, p, un.envs[k], _insts(un, p, k)) for p in props])))
        clock.limit(solver)
        r = solver.check(lit)
        if r == z3.unknown:
            gave_up(solver)  # raises KeyboardInterrupt when z3 was interrupted
            return None
        return bool(r == z3.unsat)


def _insts(un: Unrolling, p: Prop, k: int) -> list[Any]:
    return un.instances(k) if p.kind in ("deadlock", "range") else []


def kind(model: T.Model, opts: SymOptions, gm: Ground | None = None) -> RunResult:
    """`--engine kind --depth K`: k = 0, 1, ... up to K (default 10): the base case (BMC to
    depth k) and the step case at k, until the step case holds, a violation is found, or the
    budget runs out."""
    clock = Clock(opts.timeout, opts.progress)
    gm = gm or ground(model)
    enc = Encoder(gm)
    props = [p for p in safety_props(enc, opts.deadlock) if opts.wants(p.name)]
    safety = [p for p in props if p.kind != "reachable"]
    cap = opts.depth or DEFAULT_BMC_DEPTH
    base = Deepening(enc, Layout(model), props, clock)
    step = StepCase(enc, safety)
    proved_at: int | None = None
    stopped: Stop | None = None
    try:
        for k in range(cap + 1):
            clock.note(f"k-induction: k = {k} of {cap}")
            going = base.next()
            stopped = base.found.stopped
            if stopped is not None or any(p.name in base.found.hits for p in safety):
                break
            if safety:
                if clock.over():
                    stopped = Stop(StopKind.TIME, clock.timeout)
                    break
                ok = step.holds_at(clock)
                if ok is None:
                    stopped = Stop(
                        StopKind.SOLVER, detail=f"z3 gave up at step depth {k}: {step.solver.reason_unknown()}"
                    )
                    break
                if ok:
                    proved_at = k
                    break
            if not going and not safety:
                break
    except KeyboardInterrupt:
        stopped = INTERRUPTED
    found = base.found
    out = results(model, props, found, "k-induction base case")
    if proved_at is not None:
        for i, pr in enumerate(out):
            if pr.kind != "reachable":
                msg = f"proved by {proved_at}-induction"
                out[i] = PropertyResult(pr.name, pr.kind, PROVED, None, msg, pr.span)
    return finish(model, "kind", out + liveness(model, opts), clock, found.depth, stopped)
