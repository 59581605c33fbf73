"""Replay a trace against a spec, step by step: is every state reachable from the one
before by a legal action instance? The reference semantics (`model.ground.evaluate` and
`execute`) decide by default; `compiled=True` asks the compiled successor function, the
one the explicit engine runs, and explains a refusal with the reference semantics. Used
to validate counterexamples and traces recorded from a real driver (`plugcheck replay`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from model import typed as T
from model.domains import format_value
from model.errors import Span
from model.ground import EvalError, Ground, Grounder, Instance, evaluate, execute, ground, leaf_name

from .explain import source_text
from .results import Trace
from .states import Leaves, leaf_map, model_value


@dataclass
class FalseGuard:
    """The first conjunct of an action's guard that is false, as written in the spec."""

    text: str
    span: Span
    detail: str = ""  # the values of a comparison's two sides


@dataclass
class Replay:
    """The outcome: `ok` when every step is legal; otherwise `step` is the first illegal
    one (0: the initial state) and `reason` says why."""

    ok: bool
    steps: int  # transitions in the trace
    step: int | None = None
    label: str = ""  # the step's action instance, as the trace names or replay inferred it
    reason: str = ""
    guard: FalseGuard | None = None
    inferred: dict[int, str] = field(default_factory=dict)  # step -> instance, for unnamed steps
    violations: list[tuple[str, int]] = field(default_factory=list)  # (invariant, first state)

    def lines(self) -> list[str]:
        out = []
        if self.ok:
            out.append(f"the trace is a legal execution: {self.steps} step{'s' if self.steps != 1 else ''} replayed")
        else:
            where = "initial state" if self.step == 0 else f"step {self.step}"
            out.append(f"{where}" + (f" ({self.label})" if self.label else "") + f" is illegal: {self.reason}")
            if self.guard is not None:
                g = self.guard
                out.append(f"  {g.span}: false guard conjunct: {g.text}" + (f" ({g.detail})" if g.detail else ""))
        for i, lab in sorted(self.inferred.items()):
            out.append(f"  step {i}: {lab} (inferred)")
        for name, i in self.violations:
            out.append(f"state {i} violates invariant `{name}`")
        return out


def replay_constants(doc: Any, config: str | None, defines: dict[str, int]) -> tuple[str, dict[str, int], bool]:
    """The config and constants to replay a trace with: `--config` alone names a config of the
    spec; otherwise the trace's `#meta` (its config and the constants it was found with, `-D`
    included), with `-D` flags overriding. The flag is True when #meta supplied constants."""
    if config is not None:
        return config, defines, False
    meta = doc.get("#meta") if isinstance(doc, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    recorded_config = meta.get("config")
    name = recorded_config if isinstance(recorded_config, str) else "default"
    consts = meta.get("constants")
    if not isinstance(consts, dict):
        return name, defines, False
    recorded = {str(k): int(v) for k, v in consts.items() if isinstance(v, int) and not isinstance(v, bool)}
    return name, {**recorded, **defines}, bool(recorded)


def _instance(gm: Ground, action: str, args: Mapping[str, Any]) -> Instance | None:
    for inst in gm.instances:
        if inst.action != action:
            continue
        if all(model_value(t, args[n]) == v for (n, v), t in zip(inst.args, inst.arg_types, strict=True)):
            return inst
    return None


def _conjuncts(e: T.Expr) -> list[T.Expr]:
    if isinstance(e, T.Bin) and e.op == "and":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


def false_guard(model: T.Model, inst: Instance, state: Leaves) -> FalseGuard | None:
    """Which conjunct of the instance's guard, in source order, is false in `state`."""
    act = next(a for a in model.actions if a.name == inst.action)
    env = {n: T.Lit(v, t) for (n, v), t in zip(inst.args, inst.arg_types, strict=True)}
    gr = Grounder(model)
    for c in _conjuncts(act.guard):
        try:
            if evaluate(gr.expr(c, env), state):
                continue
        except EvalError as exc:
            return FalseGuard(source_text(model, c.span), c.span, f"fails: {exc}")
        detail = ""
        if isinstance(c, T.Bin) and c.op in ("==", "!=", "<", "<=", ">", ">=", "subseteq"):
            sides = []
            for side in (c.left, c.right):
                if isinstance(side, T.Lit):
                    continue
                try:
                    v = evaluate(gr.expr(side, env), state)
                except EvalError:
                    continue
                sides.append(f"{source_text(model, side.span)} = {format_value(side.ty, v)}")
            detail = ", ".join(sides)
        return FalseGuard(source_text(model, c.span), c.span, detail)
    return None


def _differences(model: T.Model, gm: Ground, got: Leaves, want: Leaves) -> str:
    diffs = []
    for f in gm.leaves:
        if got[f.key] != want[f.key]:
            name = leaf_name(model, f)
            was, has = format_value(f.ty, got[f.key]), format_value(f.ty, want[f.key])
            diffs.append(f"{name} would be {was}, the trace has {has}")
    return "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")


def _leads(inst: Instance, a: Leaves, b: Leaves) -> bool:
    try:
        return bool(evaluate(inst.guard, a)) and execute(inst, a, check_ranges=True) == b
    except EvalError:
        return False


def replay(model: T.Model, trace: Trace, compiled: bool = False) -> Replay:
    gm = ground(model)
    comp = None
    if compiled:
        from .codegen import compile_model

        comp = compile_model(gm)
    states = [leaf_map(model, st.state) for st in trace.steps]
    out = Replay(ok=True, steps=len(trace))
    _check_invariants(gm, states, out)
    if states[0] not in list(gm.initial_states()):
        return _fail(out, 0, "", "it is not an initial state of the spec")
    for i in range(1, len(states)):
        st = trace.steps[i]
        a, b = states[i - 1], states[i]
        if st.action is None:
            found = [inst for inst in gm.instances if _legal(comp, inst, a, b)]
            if not found:
                return _fail(out, i, "", f"no action instance leads from state {i - 1} to state {i}")
            out.inferred[i] = found[0].label
            continue
        inst = _instance(gm, st.action, st.args)
        if inst is None:
            return _fail(out, i, st.label, "the spec has no such action instance")
        if _legal(comp, inst, a, b):
            continue
        try:
            enabled = evaluate(inst.guard, a)
        except EvalError as exc:
            return _fail(out, i, inst.label, f"its guard cannot be evaluated: {exc}")
        if not enabled:
            fg = false_guard(model, inst, a)
            r = _fail(out, i, inst.label, "its guard is false")
            r.guard = fg
            return r
        try:
            got = execute(inst, a, check_ranges=True)
        except EvalError as exc:
            return _fail(out, i, inst.label, f"the action fails: {exc}")
        return _fail(out, i, inst.label, "it leads to a different state: " + _differences(model, gm, got, b))
    if trace.loop is not None and states[-1] != states[trace.loop]:
        if not any(_legal(comp, inst, states[-1], states[trace.loop]) for inst in gm.instances):
            why = f"no action instance leads from the last state back to state {trace.loop}"
            return _fail(out, len(states), "", why)
    return out


def _legal(comp: Any, inst: Instance, a: Leaves, b: Leaves) -> bool:
    if comp is None:
        return _leads(inst, a, b)
    succ = _successors(comp, comp.layout.pack(a))
    packed = comp.layout.pack(b)
    if succ is None or comp.layout.unpack(packed) != b:
        # the compiled step fails somewhere, or b has a value its bit field cannot hold (a
        # range violation): decide this instance with the reference semantics
        return _leads(inst, a, b)
    return (inst.id, packed) in succ


def _successors(comp: Any, s: int) -> frozenset[tuple[int, int]] | None:
    from .codegen import StepError

    try:
        return frozenset(comp.successors(s))
    except StepError:
        return None


def _fail(out: Replay, step: int, label: str, reason: str) -> Replay:
    out.ok, out.step, out.label, out.reason = False, step, label, reason
    return out


def _check_invariants(gm: Ground, states: list[Leaves], out: Replay) -> None:
    for prop, expr, _ in gm.properties:
        if prop.kind != "invariant":
            continue
        for i, s in enumerate(states):
            try:
                holds = evaluate(expr, s)
            except EvalError:
                holds = False
            if not holds:
                out.violations.append((prop.name, i))
                break
