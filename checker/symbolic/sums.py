"""A sum over the induction engine's pre-state as one variable (`sum_var`): shared by the
assumed invariants and every query that names it (keyed by structure: the guard's and the
body's `plugged` are one variable), bounded by the sum's type, and tied to its terms only
where the sum is precise. An assumed invariant and the query then speak of one term, and a
step's `before + gains` is not re-added term by term against the sum the invariant states
(two adder chains the solver would have to show equal)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3

from model.domains import IntT
from model.ground import NAry

from .env import Env


def sum_var(g: NAry, env: Env, width: int, terms: Callable[[], list[Any]]) -> Any:
    """The variable of sum `g` over `env`'s pre-state, registered in `env.abstract` (and
    tied to `terms()` when precise there)."""
    assert env.abstract is not None
    hit = env.abstract.get(g)
    if hit is not None:
        return hit[1]
    v = None if env.names is None else env.names.get(g)
    if v is None:
        v = z3.BitVec(f"sum.{len(env.abstract) if env.names is None else len(env.names)}", width)
        if env.names is not None:
            env.names[g] = v
    env.abstract[g] = (g, v)
    if isinstance(g.ty, IntT) and g.ty.bounded:
        env.side += [v >= z3.BitVecVal(g.ty.lo, width), v <= z3.BitVecVal(g.ty.hi, width)]
    if g in env.precise:
        # `v == sum` written as two inequalities: as an equation, z3's solve-eqs would
        # substitute the sum for v everywhere, and `n == v` against `v + gains` would be
        # two adder chains again (measured: BBM's `online` groups at linux, over 50 s
        # each with `==`, 0.5 s with this)
        vals = terms()
        full = z3.Sum(vals)
        env.side += [z3.ULE(v, full), z3.ULE(full, v)]
        env.side += _congruent(v, vals, env.tied)
        env.tied.append((v, vals))
    return v


def _congruent(v: Any, vals: list[Any], tied: list[tuple[Any, list[Any]]]) -> list[Any]:
    """Sums with equal terms are equal: `v` against every sum tied before it with as many
    terms. True of every state, so a proof stays sound; without it, an invariant like
    `drv_plugged == sum(b. popcount(sb[b]))` after `drv_plugged := dev_plugged`, from
    `dev_plugged == sum(b. popcount(dev_bm[b]))` and `sb[b] == dev_bm[b]`, is two adder chains
    the solver must show equal (SBM's `refresh` at linux: 224 s, 0.1 s with this)."""
    out = []
    for w, other in tied:
        if len(other) == len(vals) and all(_same_sort(a, b) for a, b in zip(vals, other, strict=True)):
            out.append(z3.Implies(z3.And([a == b for a, b in zip(vals, other, strict=True)]), v == w))
    return out


def _same_sort(a: Any, b: Any) -> bool:
    return bool(z3.is_expr(a) and z3.is_expr(b) and a.sort() == b.sort())
