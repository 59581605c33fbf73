"""An independent breadth-first search over the reference semantics (model.ground.evaluate /
execute on leaf maps, no code generation): the oracle the compiled engines are checked
against."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from model import typed as T
from model.ground import EvalError, evaluate, execute, ground

Leaf = tuple[str, tuple[int, ...]]


@dataclass
class OracleResult:
    states: int
    violated: dict[str, int]  # invariant -> shortest trace length
    deadlock: int | None  # shortest trace length to a deadlock
    range_error: int | None  # shortest trace length to a runtime error (counting the failing step)
    reached: dict[str, int] = field(default_factory=dict)  # reachable -> shortest trace length
    complete: bool = True  # False: stopped at max_states


def oracle(model: T.Model, max_states: int | None = None) -> OracleResult:
    gm = ground(model)
    invs = [(p.name, g) for p, g, _ in gm.properties if p.kind in ("invariant", "always")]
    goals = [(p.name, g) for p, g, _ in gm.properties if p.kind == "reachable"]

    def key(st: dict[Leaf, object]) -> tuple[object, ...]:
        return tuple(st[f.key] for f in gm.leaves)

    seen: dict[tuple[object, ...], int] = {}
    queue: deque[tuple[dict[Leaf, object], int]] = deque()
    for st in gm.initial_states():
        k = key(st)
        if k not in seen:
            seen[k] = 0
            queue.append((st, 0))
    out = OracleResult(0, {}, None, None)
    while queue:
        if max_states is not None and len(seen) > max_states:
            out.complete = False
            break
        st, d = queue.popleft()
        # an invariant that fails to evaluate is violated; a reachable that fails is not reached
        for props, found, want in ((invs, out.violated, False), (goals, out.reached, True)):
            for name, g in props:
                if name not in found and _holds(g, st) == want:
                    found[name] = d
        succ = 0
        for inst in gm.instances:
            try:
                if not evaluate(inst.guard, st):
                    continue
                nxt = execute(inst, st, check_ranges=True)
            except EvalError:
                if out.range_error is None:
                    out.range_error = d + 1
                continue
            succ += 1
            k = key(nxt)
            if k not in seen:
                seen[k] = d + 1
                queue.append((nxt, d + 1))
        if succ == 0 and out.deadlock is None:
            out.deadlock = d
    out.states = len(seen)
    return out


def _holds(g: object, st: dict[Leaf, object]) -> bool:
    try:
        return bool(evaluate(g, st))
    except EvalError:
        return False
