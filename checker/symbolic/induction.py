"""Inductive-invariant checking: is the conjunction of the spec's invariants preserved by
every action instance? Proofs here are unbounded (`proved`); a failure is a
counterexample to induction (a two-state trace naming the invariant and the action), which
is not a violation.

To scale to bitmaps no enumeration reaches, each query is local:
- instances of one action that write the same leaves are checked together in one query
  (a selector picks the instance);
- only invariant conjuncts that read a written leaf are checked after the step (the frame
  keeps the others), and only those are assumed before it at first;
- guard conjuncts that read leaves outside that scope (e.g. `plugged < requested`) are
  dropped: a weaker guard over-approximates the transition, so a proof stays sound.
A counterexample whose pre-state breaks a dropped guard conjunct or an unassumed invariant
conjunct (checked concretely with the reference evaluator) is spurious: those conjuncts are
added and the query is asked again. Only a pre-state satisfying every invariant and the full
guard is reported.
"""

from __future__ import annotations

from typing import Any

from model import typed as T
from model.ground import Ground, ground

from ..layout import Layout
from ..results import HOLDS, INCONCLUSIVE, PROVED, VIOLATED, PropertyResult, RunResult, Trace
from ..stops import Stop, StopKind
from . import readback
from .bmc import finish, liveness, search
from .encode import Encoder
from .parallel import GROUP, RANGE, Work, prove
from .prover import CTI, LeafMap, Prover, Unknown, groups
from .unroll import Clock, SymOptions, safety_props


def induction(model: T.Model, opts: SymOptions, gm: Ground | None = None) -> RunResult:
    """`--engine induction`."""
    clock = Clock(opts.timeout, opts.progress)
    gm = gm or ground(model)
    enc = Encoder(gm)
    layout = Layout(model)
    props = safety_props(enc, opts.deadlock)
    # The base case: initial states that break an invariant are real violations. The step
    # proof then assumes only the invariants every initial state satisfies, so the
    # conjunction it proves inductive holds initially (range and deadlock in initial states
    # are covered by the proofs below, which assume that conjunction).
    base = search(enc, layout, [p for p in props if p.kind in ("invariant", "reachable")], 0, clock)
    failed_init = frozenset(p.name for p in props if p.kind == "invariant" and p.name in base.hits)
    prover = Prover(enc, clock, failed_init)
    ctis: dict[str, CTI] = {}
    stopped = base.stopped
    range_state: LeafMap | None = None
    dead_state: LeafMap | None = None
    excluded: dict[str, bool] = {}
    grps = groups(gm, enc)
    answered: dict[int, CTI | None] = {}
    ranges: dict[int, LeafMap | None] = {}
    dead: list[LeafMap | None] = []
    rng = opts.wants("range")
    dl = any(p.kind == "deadlock" for p in props) and opts.wants("deadlock")
    try:
        if stopped is None:
            for task, ans in prove(Work(prover, grps), model, failed_init, opts.jobs, clock, rng, dl):
                if task.kind == GROUP:
                    answered[task.index] = ans
                elif task.kind == RANGE:
                    ranges[task.index] = ans
                else:
                    dead.append(ans)
            # the first counterexample per invariant in group order, whatever order they came in
            for i in sorted(answered):
                cti = answered[i]
                if cti is not None and cti.prop not in ctis:
                    ctis[cti.prop] = cti
            if not ctis:
                # the first action's state with a runtime error, in action order
                range_state = next((ranges[i] for i in sorted(ranges) if ranges[i] is not None), None)
                dead_state = dead[0] if dead else None
                for p in props:
                    if p.kind == "reachable" and opts.wants(p.name):
                        excluded[p.name] = prover.excluded(_holds_fn(enc, p.expr)) is None
    except (Unknown, KeyboardInterrupt) as exc:
        # what a user can keep from a run cut short: the groups proved so far
        proved = sum(1 for c in answered.values() if c is None)
        reached = f"{proved} of {len(grps)} instance groups preserve every invariant"
        left = clock.left()
        if isinstance(exc, KeyboardInterrupt):
            stopped = Stop(StopKind.INTERRUPTED, detail=reached)
        elif "budget" in str(exc) or (left is not None and left <= 0.5):
            # a query the time limit cancelled says "canceled" or "timeout": the budget ended it
            stopped = Stop(StopKind.TIME, clock.timeout, detail=reached)
        else:
            stopped = Stop(StopKind.SOLVER, detail=f"z3 gave up: {exc} ({reached})")
    stopped_msg = str(stopped) if stopped is not None else ""
    inductive = not ctis and stopped is None
    out: list[PropertyResult] = []
    for p in props:
        span = p.prop.span if p.prop is not None else None
        hit = base.hits.get(p.name)
        if hit is not None:
            status = HOLDS if p.kind == "reachable" else VIOLATED
            msg = hit[2] or (f"`{p.name}` holds initially" if p.kind == "reachable" else "violated in an initial state")
            out.append(PropertyResult(p.name, p.kind, status, hit[1], msg, span))
        elif not inductive:
            out.append(_not_proved(p.name, p.kind, span, ctis, stopped_msg, enc, layout))
        elif p.kind == "invariant":
            out.append(PropertyResult(p.name, p.kind, PROVED, None, "the invariants together are inductive", span))
        elif p.kind == "reachable":
            if excluded.get(p.name):
                out.append(
                    PropertyResult(
                        p.name, p.kind, VIOLATED, None, "never reached: the proved invariants exclude it", span
                    )
                )
            else:
                out.append(PropertyResult(p.name, p.kind, INCONCLUSIVE, None, "induction cannot show a witness", span))
        else:
            st = range_state if p.kind == "range" else dead_state
            if st is None:
                out.append(PropertyResult(p.name, p.kind, PROVED, None, "excluded by the inductive invariants", span))
            else:
                tr = Trace([readback.step(enc, layout, None, st)])
                what = "a runtime error" if p.kind == "range" else "no enabled action"
                msg = f"the invariants allow a state with {what} (it may be unreachable)"
                out.append(PropertyResult(p.name, p.kind, INCONCLUSIVE, tr, msg, span))
    res = finish(model, "induction", out + liveness(model, opts), clock, 1, stopped)
    return res


def _not_proved(
    name: str, kind: str, span: Any, ctis: dict[str, CTI], stopped: str, enc: Encoder, layout: Layout
) -> PropertyResult:
    cti = ctis.get(name)
    if cti is not None:
        tr = Trace([readback.step(enc, layout, None, cti.pre), readback.step(enc, layout, cti.inst, cti.post)])
        msg = (
            f"not inductive: {cti.inst.label} breaks `{name}` from a state where every invariant holds"
            " (a counterexample to induction, not a violation: add a strengthening invariant)"
        )
        return PropertyResult(name, kind, INCONCLUSIVE, tr, msg, span)
    if stopped:
        return PropertyResult(name, kind, INCONCLUSIVE, None, f"no proof: {stopped}", span)
    broken = ", ".join(f"`{n}`" for n in ctis)
    return PropertyResult(
        name, kind, INCONCLUSIVE, None, f"no proof: the invariants are not inductive ({broken})", span
    )


def _holds_fn(enc: Any, g: Any) -> Any:
    """The state predicate `g` as a function of an encoded state (binds g now, not late)."""
    return lambda env: enc.holds(g, env)
