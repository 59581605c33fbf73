"""A sum over the state after a step, written relative to the same sum before it.

`plugged' == sum(b. popcount(bm'[b]))` after a PLUG into block k is, as values, the sum before
plus popcount(req) in term k. Bit-blasted, though, the two sums are two adder chains, and
showing them equal term by term is a problem CDCL solvers are notoriously bad at. Written as
"the sum before plus what each term gained", the gains of unchanged terms are zero and the
solver only sees the few terms that moved. Cases every changed term shares (`if ACK and
req == UNPLUG_ALL`, where every term becomes 0) are split first, so that such a case is a
plain sum of constants rather than a telescoping one.
"""

from __future__ import annotations

from typing import Any

import z3

MAX_SPLIT = 8  # shared cases split before falling back to gains


def moved_sum(vals: list[Any], olds: list[Any], before: Any, moved: list[Any] | None = None) -> Any:
    """sum(vals), given each term's value before the step (olds) and the sum before it.
    `moved`: per term, a condition on the step alone (which instance, which branch, which
    index) outside which none of the leaves the term reads changes, or None where the term
    cannot change. Outside it the term's gain is 0 by construction, so the solver does not
    have to show that a term over unchanged leaves kept its value."""

    def cases(vs: list[Any], depth: int) -> Any:
        if all(z3.is_bv_value(v) for v in vs):
            return z3.simplify(z3.Sum(vs))
        moving = [v for v, u in zip(vs, olds, strict=True) if not v.eq(u)]
        conds = [v.children()[0] for v in moving if z3.is_app_of(v, z3.Z3_OP_ITE)]
        if depth < MAX_SPLIT and conds and len(conds) == len(moving) and all(c.eq(conds[0]) for c in conds):
            pick = [(v.children()[1:] if not v.eq(u) else (v, v)) for v, u in zip(vs, olds, strict=True)]
            return z3.If(conds[0], cases([p[0] for p in pick], depth + 1), cases([p[1] for p in pick], depth + 1))
        gains = [d for d in map(gain, vs, olds, moved or [True] * len(vs)) if not _zero(d)]
        return before + z3.Sum(gains) if gains else before

    return cases(vals, 0)


def gain(v: Any, u: Any, moved: Any) -> Any:
    """v - u, and 0 outside `moved` (None: never moved; True: no condition known)."""
    if moved is None or v.eq(u):
        return z3.BitVecVal(0, v.size())
    d = delta(v, u)
    return d if moved is True or _zero(d) else z3.If(moved, d, z3.BitVecVal(0, v.size()))


def _zero(d: Any) -> bool:
    return bool(z3.is_bv_value(d) and d.as_long() == 0)


def changed(post: Any, pre: Any) -> Any:
    """When a leaf's value after a step, an if-then-else over the step's conditions whose
    branches are its value before or new values, is not its value before: the conditions of
    the paths to new values (True where a path's value is not recognisably the old one,
    False where none is)."""
    if post.eq(pre):
        return False
    if z3.is_app_of(post, z3.Z3_OP_BADD) and post.num_args() == 2 and post.children()[0].eq(pre):
        return changed(post.children()[1], z3.BitVecVal(0, post.size()))  # pre + a step (`merge_branches`)
    if z3.is_app_of(post, z3.Z3_OP_ITE):
        c, x, y = post.children()
        cx, cy = changed(x, pre), changed(y, pre)
        if cx is False and cy is False:
            return False
        if cx is False:
            return z3.And(z3.Not(c), cy) if cy is not True else z3.Not(c)
        if cy is False:
            return z3.And(c, cx) if cx is not True else c
        if cx is True and cy is True:
            return True
        return z3.If(c, cx, cy)
    return True


def delta(v: Any, u: Any) -> Any:
    """v - u, pushed into v's if-then-else branches (most of which are u itself)."""
    if v.eq(u):
        return z3.BitVecVal(0, v.size())
    if z3.is_app_of(v, z3.Z3_OP_ITE):
        c, x, y = v.children()
        return z3.If(c, delta(x, u), delta(y, u))
    return z3.simplify(v - u)
