"""Constant folding of ground expressions while they are built: flattening and/or/+ and
evaluating nodes whose operands are all constants."""

from __future__ import annotations

from . import typed as T
from .domains import BoolT, IntT, Type
from .ground_nodes import G, NAry
from .semantics import EvalError, evaluate


def nary(op: str, parts: list[G], ty: Type | None = None) -> G:
    ty = ty or BoolT()
    flat: list[G] = []
    const = 0
    for p in parts:
        if isinstance(p, NAry) and p.op == op:
            flat += p.args
        else:
            flat.append(p)
    out: list[G] = []
    for p in flat:
        if isinstance(p, T.Lit):
            if op == "and" and not p.value:
                return T.Lit(False, BoolT())
            if op == "or" and p.value:
                return T.Lit(True, BoolT())
            if op == "+":
                const += int(p.value)  # type: ignore[call-overload]
            continue
        out.append(p)
    if op == "+":
        if const or not out:
            out.append(T.Lit(const, IntT(const, const)))
        if len(out) == 1:
            return out[0]
        return NAry("+", tuple(out), ty)
    if not out:
        return T.Lit(op == "and", BoolT())
    if len(out) == 1:
        return out[0]
    return NAry(op, tuple(out), BoolT())


def _is_const(g: G) -> bool:
    return isinstance(g, T.Lit)


def fold(g: G) -> G:
    """Evaluate a node whose operands are all constants (errors stay for run time)."""
    kids: list[G]
    if isinstance(g, T.Un):
        kids = [g.operand]
    elif isinstance(g, T.Bin):
        if g.op == "implies" and isinstance(g.left, T.Lit):
            return g.right if g.left.value else T.Lit(True, BoolT())
        kids = [g.left, g.right]
    elif isinstance(g, T.Member):
        kids = [g.elem, *g.options]
    elif isinstance(g, (T.SetOf, T.Builtin)):
        kids = list(g.elems if isinstance(g, T.SetOf) else g.args)
    elif isinstance(g, T.BitTest):
        kids = [g.bitmap, g.index]
    elif isinstance(g, T.IteE):
        if isinstance(g.cond, T.Lit):
            return g.then if g.cond.value else g.other
        return g
    else:
        return g
    if all(_is_const(k) for k in kids):
        try:
            return T.Lit(evaluate(g, {}), g.ty)
        except EvalError:
            return g
    return g
