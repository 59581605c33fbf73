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
from .bmc import finish, liveness, results, search
from .encode import Encoder
from .unroll import INTERRUPTED, Clock, Prop, SymOptions, Unrolling, bad_state, gave_up, safety_props


def _distinct(a: dict[Any, Any], b: dict[Any, Any]) -> Any:
    return z3.Or([a[k] != b[k] for k in a])


def step_proof(enc: Encoder, props: list[Prop], depth: int, clock: Clock) -> tuple[int | None, str]:
    """The smallest k <= depth at which the step case holds, or None; and why it stopped."""
    solver = z3.SolverFor("QF_FD")
    un = Unrolling(enc, solver, prefix="k")
    for k in range(depth + 1):
        un.add_state()
        if k > 0:
            prev = k - 1
            solver.add([z3.Not(bad_state(enc, p, un.envs[prev], _insts(un, p, prev))) for p in props])
            solver.add([_distinct(un.states[j], un.states[k]) for j in range(k)])
        lit = z3.Bool(f"kstep.{k}")
        solver.add(z3.Implies(lit, z3.Or([bad_state(enc, p, un.envs[k], _insts(un, p, k)) for p in props])))
        if clock.over():
            return None, f"time budget {clock.timeout:g} s reached"
        clock.limit(solver)
        r = solver.check(lit)
        if r == z3.unsat:
            return k, ""
        if r == z3.unknown:
            return None, f"z3 gave up at step depth {k}: {gave_up(solver)}"
    return None, ""


def _insts(un: Unrolling, p: Prop, k: int) -> list[Any]:
    return un.instances(k) if p.kind in ("deadlock", "range") else []


def kind(model: T.Model, opts: SymOptions, gm: Ground | None = None) -> RunResult:
    """`--engine kind --depth K`."""
    clock = Clock(opts.timeout, opts.progress)
    gm = gm or ground(model)
    enc = Encoder(gm)
    props = safety_props(enc, opts.deadlock)
    safety = [p for p in props if p.kind != "reachable"]
    found = search(enc, Layout(model), props, opts.depth, clock)
    proved_at: int | None = None
    stopped = found.stopped
    if not stopped and not any(p.name in found.hits for p in safety):
        try:
            proved_at, stopped = step_proof(enc, safety, opts.depth, clock)
        except KeyboardInterrupt:
            stopped = INTERRUPTED
    out = results(model, props, found, "k-induction base case")
    if proved_at is not None:
        for i, pr in enumerate(out):
            if pr.kind != "reachable":
                msg = f"proved by {proved_at}-induction"
                out[i] = PropertyResult(pr.name, pr.kind, PROVED, None, msg, pr.span)
    res = finish(model, "kind", out + liveness(model), clock, found.depth, stopped)
    return res
