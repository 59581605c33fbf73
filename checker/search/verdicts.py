"""Verdicts, traces and coverage from what a search found: the one place that turns first
hits, a deadlock, a runtime error and a stop reason into `RunResult`."""

from __future__ import annotations

from dataclasses import dataclass

from model import typed as T
from model.errors import Span
from model.ground import EvalError, evaluate, execute

from ..results import HOLDS, INCONCLUSIVE, VIOLATED, Coverage, PropertyResult, RunResult, Step
from ..states import arg_json, state_json
from ..stops import Stop
from .budget import peak_mb
from .exploration import Exploration


@dataclass
class Findings:
    """What a search found, by state number."""

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
    model: T.Model, ex: Exploration, found: Findings, stop: Stop | None, secs: float, check_deadlock: bool
) -> RunResult:
    """Verdicts, traces and coverage from what a search found."""
    stopped = str(stop) if stop is not None else ""
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
        stopped=stop,
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
