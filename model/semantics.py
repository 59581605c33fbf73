"""The reference semantics of ground expressions and statements: the oracle the compiled
and symbolic engines are tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import typed as T
from .domains import BitmapT, IntT, Type
from .ground_nodes import Arr, Field, G, GFail, GIf, GLet, GSet, GStmt, Instance, NAry, Select, Tmp


class EvalError(Exception):
    """A runtime error in a spec: index or bit out of range, division by zero."""


# ---- arithmetic shared by folding, the evaluator and the code generator
def arith_value(op: str, a: int, b: int) -> int | None:
    """Integer arithmetic; None where the result is undefined (division by zero, bad shift)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%"):
        if b == 0:
            return None
        return a // b if op == "/" else a % b
    if op in ("<<", ">>"):
        if b < 0 or b > 4096:
            return None
        return a << b if op == "<<" else a >> b
    raise ValueError(op)


def width_of(t: Type) -> int:
    assert isinstance(t, BitmapT) and t.width is not None, t
    return t.width


# ---- the reference evaluator
def evaluate(
    g: G, state: Mapping[tuple[str, tuple[int, ...]], object], tmps: Mapping[str, object] | None = None
) -> Any:
    """Evaluate a ground expression; `state` maps leaf keys to values."""
    t = tmps or {}
    ev: Callable[[G], Any] = lambda x: evaluate(x, state, t)  # noqa: E731
    if isinstance(g, T.Lit):
        return g.value
    if isinstance(g, Field):
        return state[g.key]
    if isinstance(g, Tmp):
        return t[g.name]
    if isinstance(g, Arr):
        return tuple(ev(x) for x in g.elems)
    if isinstance(g, Select):
        i = int(ev(g.index)) - g.lo
        if not 0 <= i < len(g.options):
            raise EvalError(f"index {i + g.lo} is out of range{(' of ' + g.what) if g.what else ''}")
        return ev(g.options[i])
    if isinstance(g, NAry):
        if g.op == "and":
            return all(ev(x) for x in g.args)
        if g.op == "or":
            return any(ev(x) for x in g.args)
        return sum(int(ev(x)) for x in g.args)
    if isinstance(g, T.Un):
        v = ev(g.operand)
        if g.op == "not":
            return not v
        if g.op == "-":
            return -v
        return ((1 << width_of(g.ty)) - 1) ^ v
    if isinstance(g, T.Bin):
        op = g.op
        if op == "and":
            return bool(ev(g.left)) and bool(ev(g.right))
        if op == "or":
            return bool(ev(g.left)) or bool(ev(g.right))
        if op == "implies":
            return (not ev(g.left)) or bool(ev(g.right))
        a, b = ev(g.left), ev(g.right)
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
        if op == "&":
            return a & b
        if op == "|":
            return a | b
        if op == "subseteq":
            return a & ~b == 0
        r = arith_value(op, a, b)
        if r is None:
            raise EvalError("division by zero" if op in "/%" else f"shift by {b}")
        return r
    if isinstance(g, T.Member):
        v = ev(g.elem)
        return v in [ev(o) for o in g.options]  # every option is evaluated (its error counts)
    if isinstance(g, T.SetOf):
        w = g.ty.width if isinstance(g.ty, BitmapT) else None
        m = 0
        for x in g.elems:
            i = int(ev(x))
            if i < 0 or (w is not None and i >= w):
                raise EvalError(f"bit {i} is out of 0..{(w or 1) - 1}")
            m |= 1 << i
        return m
    if isinstance(g, T.BitTest):
        m, i = ev(g.bitmap), int(ev(g.index))
        w = g.bitmap.ty.width if isinstance(g.bitmap.ty, BitmapT) else None
        if i < 0 or (w is not None and i >= w):
            raise EvalError(f"bit {i} is out of 0..{(w or 1) - 1}")
        return bool((m >> i) & 1)
    if isinstance(g, T.IteE):
        return ev(g.then) if ev(g.cond) else ev(g.other)
    if isinstance(g, T.Builtin):
        args = [ev(a) for a in g.args]
        if g.func == "min":
            return min(args)
        if g.func == "max":
            return max(args)
        if g.func == "popcount":
            return int(args[0]).bit_count()
        if g.func == "lowest":
            return lowest_index(int(args[0]), _width(g.args[0]))
        if g.func == "highest":
            return int(args[0]).bit_length() - 1
        if g.func == "lowbits":
            k = int(args[0])
            w = g.ty.width if isinstance(g.ty, BitmapT) else None
            if k < 0 or (w is not None and k > w):
                raise EvalError(f"lowbits({k}) is out of 0..{w}")
            return (1 << k) - 1
    raise AssertionError(g)


def execute(
    inst: Instance, state: Mapping[tuple[str, tuple[int, ...]], object], check_ranges: bool = False
) -> dict[tuple[str, tuple[int, ...]], object]:
    """Run an instance's body on a leaf map (reference semantics; raises EvalError, and with
    check_ranges also for a value assigned outside its variable's range)."""
    cur = dict(state)
    tmps: dict[str, object] = {}

    def run(ss: tuple[GStmt, ...] | list[GStmt]) -> None:
        for s in ss:
            if isinstance(s, GSet):
                v = evaluate(s.value, cur, tmps)
                t = s.field.ty
                if check_ranges and isinstance(t, IntT) and not t.lo <= v <= t.hi:
                    raise EvalError(f"`{s.field.var}` := {v} is out of its range {t.lo}..{t.hi}")
                cur[s.field.key] = v
            elif isinstance(s, GLet):
                tmps[s.name] = evaluate(s.value, cur, tmps)
            elif isinstance(s, GIf):
                run(s.then if evaluate(s.cond, cur, tmps) else s.other)
            elif isinstance(s, GFail):
                raise EvalError(s.message.replace("{}", "?"))

    run(inst.body)
    return cur


def lowest_index(m: int, w: int) -> int:
    """`lowest(m)` for a w-bit bitmap: the lowest member, w if m is empty."""
    return (m & -m).bit_length() - 1 if m else w


def _width(g: G) -> int:
    w = g.ty.width if isinstance(g.ty, BitmapT) else None
    assert w is not None  # the checker requires a known width
    return w
