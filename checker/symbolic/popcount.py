"""Abstract bit counts for the induction engine.

Counted exactly, `popcount` of a bit-vector is a tree of adders. Identities between such
trees (`popcount(a | r) == popcount(a) + popcount(r)` for disjoint a and r, which every
accounting invariant needs after a PLUG or an UNPLUG) are counting arguments that bit-blasting
cannot do at 64 bits: on its own that identity takes minutes (tests/bench/popcount_identity.py),
inside an induction query with eight blocks it does not finish.

So the induction engine counts wide bitmaps *abstractly*: popcount is an uninterpreted
function to the integer bit-vectors, constrained by lemmas that hold for every bitmap (bounds,
zero iff empty, full iff all ones, the count of `|`, `& ~`, `&`, `~`, of a low mask and of a
single bit, and through if-then-else). Every real model satisfies the lemmas, so an unsat
query is a proof. A counterexample whose counts disagree with the real popcount of its
bitmaps is spurious; the engine then counts those bitmaps exactly (`exact`), which is a
circuit of one bitmap, not an identity between several.
"""

from __future__ import annotations

from typing import Any

import z3

EXACT_WIDTH = 16  # bitmaps up to this wide keep their exact adder tree


class Masks:
    """The bit-vector terms built as low masks `lowbits(k)` and single bits `{i}`, so that
    their count is k or 1 without looking at bits (registered by the encoder)."""

    def __init__(self) -> None:
        self.low: dict[int, tuple[Any, Any]] = {}  # term id -> (term, k)
        self.one: dict[int, tuple[Any, Any]] = {}  # term id -> (term, i)

    def lowbits(self, t: Any, k: Any) -> Any:
        self.low[t.get_id()] = (t, k)
        return t

    def bit(self, t: Any, i: Any) -> Any:
        self.one[t.get_id()] = (t, i)
        return t


def _is(t: Any, op: int) -> bool:
    return bool(z3.is_app_of(t, op))


BITWISE = (z3.Z3_OP_BOR, z3.Z3_OP_BAND, z3.Z3_OP_BNOT)


def _lift_ite(t: Any, depth: int = 0) -> tuple[Any, Any, Any] | None:
    """`op(.., ite(c, x, y), ..)` as (c, op(.., x, ..), op(.., y, ..)) for a bitwise op with an
    if-then-else operand (looking through nested bitwise ops), so that each case is counted
    from its own lemmas; None if there is no such operand."""
    if depth > 3 or not any(_is(t, op) for op in BITWISE):
        return None
    kids = t.children()
    for j, k in enumerate(kids):
        if _is(k, z3.Z3_OP_ITE):
            c, x, y = k.children()
        else:
            sub = _lift_ite(k, depth + 1)
            if sub is None:
                continue
            c, x, y = sub
        fx = kids[:j] + [x] + kids[j + 1 :]
        fy = kids[:j] + [y] + kids[j + 1 :]
        return c, _rebuild(t, fx), _rebuild(t, fy)
    return None


def _rebuild(t: Any, kids: list[Any]) -> Any:
    if _is(t, z3.Z3_OP_BNOT):
        return ~kids[0]
    out = kids[0]
    for k in kids[1:]:
        out = out | k if _is(t, z3.Z3_OP_BOR) else out & k
    return out


def _zero(t: Any) -> bool:
    return bool(z3.is_bv_value(t) and t.as_long() == 0)


class Counts:
    """The popcount terms of one query, as `width`-bit signed integers (the encoder's)."""

    def __init__(self, masks: Masks, width: int, exact: set[int] | None = None) -> None:
        self.masks = masks
        self.width = width
        self.exact = exact if exact is not None else set()  # ids of bitmap terms counted exactly
        self.memo: dict[int, tuple[Any, Any]] = {}
        self.apps: list[tuple[Any, Any]] = []  # (bitmap term, its uninterpreted count)
        self.lemmas: list[Any] = []
        self.funcs: dict[int, Any] = {}
        self.merged: set[object] = set()  # keys of other counts already merged in

    def merge(self, key: object, other: Counts) -> None:
        """Take over another query part's counts (its applications are checked and its lemmas
        asserted with this query's)."""
        if key not in self.merged:
            self.merged.add(key)
            self.apps += other.apps
            self.lemmas += other.lemmas

    def num(self, v: int) -> Any:
        return z3.BitVecVal(v, self.width)

    def count(self, t: Any) -> Any:
        key = t.get_id()
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = (t, self._count(t))
        return hit[1]

    def _count(self, t: Any) -> Any:
        w = t.size()
        if z3.is_bv_value(t):
            return self.num(bin(t.as_long()).count("1"))
        low = self.masks.low.get(t.get_id())
        if low is not None:
            k = low[1]  # an integer of the encoder's width
            return z3.If(k < 0, self.num(0), z3.If(k > self.num(w), self.num(w), k))
        one = self.masks.one.get(t.get_id())
        if one is not None:
            i = one[1]
            return z3.If(z3.And(i >= 0, i < self.num(w)), self.num(1), self.num(0))
        if _is(t, z3.Z3_OP_ITE):
            c, x, y = t.children()
            return z3.If(c, self.count(x), self.count(y))
        split = _lift_ite(t)
        if split is not None:  # a dynamic index under `|`, `&`, `~`: count each case
            c, x, y = split
            return z3.If(c, self.count(x), self.count(y))
        kids = t.children()
        if _is(t, z3.Z3_OP_BNOT):
            return self.num(w) - self.count(kids[0])
        if _is(t, z3.Z3_OP_BOR) and len(kids) == 2:  # inclusion-exclusion
            x, y = kids
            if _zero(x) or _zero(y):
                return self.count(y if _zero(x) else x)
            return self.count(x) + self.count(y) - self.count(x & y)
        if _is(t, z3.Z3_OP_BAND) and len(kids) == 2 and (_is(kids[0], z3.Z3_OP_BNOT) or _is(kids[1], z3.Z3_OP_BNOT)):
            keep, neg = (kids[0], kids[1]) if _is(kids[1], z3.Z3_OP_BNOT) else (kids[1], kids[0])
            return self.count(keep) - self.count(keep & neg.children()[0])  # x & ~y: x less the common bits
        f = self.funcs.get(w)
        if f is None:
            f = self.funcs[w] = z3.Function(f"popcount{w}", z3.BitVecSort(w), z3.BitVecSort(self.width))
        a = f(t)
        self.apps.append((t, a))
        full = z3.BitVecVal((1 << w) - 1, w)
        self.lemmas += [a >= 0, a <= self.num(w), (a == 0) == (t == 0), (a == self.num(w)) == (t == full)]
        self.lemmas += self._lemmas(t, a, w)
        if t.get_id() in self.exact:
            self.lemmas.append(a == tree(t, self.width))
        return a

    def _lemmas(self, t: Any, a: Any, w: int) -> list[Any]:
        kids = t.children()
        if not _is(t, z3.Z3_OP_BAND) or len(kids) != 2:
            return []
        x, y = kids
        cx, cy = self.count(x), self.count(y)
        out = [a <= cx, a <= cy, a >= cx + cy - self.num(w), z3.Implies(t == x, a == cx), z3.Implies(t == y, a == cy)]
        if x.get_id() in self.masks.low and y.get_id() in self.masks.low:  # nested low masks
            out.append(a == z3.If(cx < cy, cx, cy))
        return out

    def wrong(self, model: Any) -> list[Any]:
        """The bitmap terms whose count the model gets wrong."""
        out = []
        for t, a in self.apps:
            n = bin(model.eval(t, model_completion=True).as_long()).count("1")
            if model.eval(a, model_completion=True).as_signed_long() != n:
                out.append(t)
        return out


def tree(m: Any, width: int) -> Any:
    """popcount(m) exactly, as a width-bit integer: bits summed by a tree of adders whose width
    grows by one per level (smaller circuits than summing every bit at the full width)."""
    terms = [z3.Extract(i, i, m) for i in range(m.size())]
    while len(terms) > 1:
        nxt = [z3.ZeroExt(1, terms[j]) + z3.ZeroExt(1, terms[j + 1]) for j in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            nxt.append(z3.ZeroExt(1, terms[-1]))
        terms = nxt
    x = terms[0]
    if x.size() < width:
        return z3.ZeroExt(width - x.size(), x)
    return x if x.size() == width else z3.Extract(width - 1, 0, x)
