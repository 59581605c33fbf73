"""z3 models back to plugcheck traces: the same Step / Trace / JSON shape the explicit
engine produces, so rendering and reports do not know which engine found a trace."""

from __future__ import annotations

from typing import Any

from model.ground import EvalError, Instance, evaluate, execute

from ..layout import Layout
from ..results import Step, Trace
from ..states import arg_json, state_json
from .encode import Encoder, Key

LeafMap = dict[Key, object]


def leafmap(enc: Encoder, zm: Any, st: dict[Key, Any]) -> LeafMap:
    """The concrete state a z3 model assigns to one symbolic state."""
    return {k: enc.value(enc.types[k], zm.eval(v, model_completion=True)) for k, v in st.items()}


def step(enc: Encoder, layout: Layout, inst: Instance | None, lm: LeafMap) -> Step:
    state = state_json(enc.model, layout, lm)
    if inst is None:
        return Step(None, {}, state)
    return Step(inst.action, arg_json(inst), state)


def trace(enc: Encoder, layout: Layout, zm: Any, states: list[dict[Key, Any]], picks: list[int]) -> Trace:
    """states[0..k] with picks[j] the instance id leading to states[j + 1]."""
    steps = []
    for j, st in enumerate(states):
        inst = enc.gm.instances[picks[j - 1]] if j > 0 else None
        steps.append(step(enc, layout, inst, leafmap(enc, zm, st)))
    return Trace(steps)


def failure(inst: Instance, lm: LeafMap) -> tuple[str, LeafMap] | None:
    """Replay an instance on a concrete state with the reference semantics: the runtime
    error message and the state the body reached (the pre-state when it cannot finish),
    or None when the instance runs cleanly (the encoding and the reference disagree)."""
    try:
        if not evaluate(inst.guard, lm):
            return None
    except EvalError as exc:
        return str(exc), lm
    try:
        execute(inst, lm, check_ranges=True)
    except EvalError as exc:
        try:
            after = execute(inst, lm)
        except EvalError:
            after = lm
        return str(exc), after
    return None
