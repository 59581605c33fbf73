"""Bit-vector helpers of the z3 encoding: error conditions combined, bitmap widths and
operand resizing, find-first/last-bit as a binary search, and Python's floor `/` and `%`
on z3's truncating signed division."""

from __future__ import annotations

from typing import Any

import z3

from model.domains import BitmapT, Type

Err = Any  # a z3 Bool, or None for "never fails"


def _or(a: Err, b: Err) -> Err:
    if a is None:
        return b
    if b is None:
        return a
    return z3.Or(a, b)


def _and(c: Any, e: Err) -> Err:
    """`e` counts only where `c` holds (c None: always)."""
    if e is None:
        return None
    return e if c is None else z3.And(c, e)


def _bw(t: Type, fallback: int = 1) -> int:
    """A bitmap's width; literals like `{}` whose width the checker left open get
    `fallback` and are resized to the other operand where they are used (`_fit`)."""
    assert isinstance(t, BitmapT)
    return max(1, t.width if t.width is not None else fallback)


def _fit(x: Any, w: int) -> Any:
    """A bit-vector resized to width w (constants re-made, others extended or cut)."""
    if not z3.is_bv(x) or x.size() == w:
        return x
    if z3.is_bv_value(x):
        return z3.BitVecVal(x.as_long() & ((1 << w) - 1), w)
    return z3.ZeroExt(w - x.size(), x) if x.size() < w else z3.Extract(w - 1, 0, x)


def _same(a: Any, b: Any) -> tuple[Any, Any]:
    """Two bit-vector operands at one width (the non-constant's, else the wider)."""
    if not (z3.is_bv(a) and z3.is_bv(b)) or a.size() == b.size():
        return a, b
    if z3.is_bv_value(a) and not z3.is_bv_value(b):
        return _fit(a, b.size()), b
    if z3.is_bv_value(b) and not z3.is_bv_value(a):
        return a, _fit(b, a.size())
    w = max(a.size(), b.size())
    return _fit(a, w), _fit(b, w)


def _find(m: Any, lowest: bool, width: int) -> Any:
    """The index of m's lowest (highest) set bit as a width-bit integer, m's width (-1) if m is
    empty: a binary search that keeps the half holding the bit, one mux level per halving."""
    w = m.size()
    n = 1 << (w - 1).bit_length()
    cur = z3.ZeroExt(n - w, m) if n > w else m
    idx = z3.BitVecVal(0, width)
    half = n // 2
    while half:
        lo, hi = z3.Extract(half - 1, 0, cur), z3.Extract(2 * half - 1, half, cur)
        up = lo == 0 if lowest else hi != 0  # the bit is in the upper half
        idx = idx + z3.If(up, z3.BitVecVal(half, width), z3.BitVecVal(0, width))
        cur = z3.If(up, hi, lo)
        half //= 2
    return z3.If(m == 0, z3.BitVecVal(w if lowest else -1, width), idx)


def _pydiv(a: Any, b: Any) -> Any:
    """Floor division (Python's `//`) from z3's truncating bvsdiv."""
    q = a / b
    r = z3.SRem(a, b)
    return z3.If(z3.And(r != 0, (r < 0) != (b < 0)), q - 1, q)


def _pymod(a: Any, b: Any) -> Any:
    """Python's `%`: the sign of the divisor (z3py's `%` on bit-vectors is bvsmod)."""
    return a % b
