"""Bitmaps wider than 62 bits in the numpy kernels (`kernels.py`): a value of n lanes is an
(n, L) uint64 array of 64-bit limbs, L = ceil(width / 64), the lowest bits in limb 0, every
bit past the width 0. A constant is one (L,) row, which broadcasts against the lanes.

`emit` writes the code of an expression that makes or reads a wide bitmap; `decode_field`
and `field_pieces` move a wide field between the packed state words and its limbs; the
runtime helpers the generated code calls are `HELPERS`. Possible runtime errors (a bit or a
`lowbits` out of range) are added to the emitter's error lanes as the narrow code does, and
indices are clipped so that a lane with an error still computes something harmless.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from model import typed as T
from model.domains import BitmapT, Type
from model.ground import Field, G, Select, Tmp

NARROW = 62  # bitmaps up to this width are one int64 value per lane
FULL = (1 << 64) - 1


class Unsupported(Exception):
    """The model uses something the kernels do not handle; the single-state path runs it.
    (Defined here because `kernels` builds on this module.)"""


class Emitter(Protocol):
    """What `emit` needs of the kernels' expression emitter."""

    errs: list[str]

    def x(self, g: G) -> str: ...

    def fresh(self, value: str) -> str: ...

    def const(self, value: int, width: int) -> str: ...


def width(t: Type) -> int:
    if not isinstance(t, BitmapT) or t.width is None:
        raise Unsupported(f"bitmap type {t}")
    return t.width


def is_wide(t: Type) -> bool:
    return isinstance(t, BitmapT) and t.width is not None and t.width > NARROW


def limbs(w: int) -> int:
    return (w + 63) // 64


def limbs_of(value: int, w: int) -> tuple[int, ...]:
    return tuple((value >> (64 * k)) & FULL for k in range(limbs(w)))


def handles(g: G) -> bool:
    """Does `emit` write this node: a wide value (other than a name), or a reader of one?"""
    if isinstance(g, (Field, Tmp)):
        return False  # a name: the same text whatever its shape
    if is_wide(g.ty):
        return True
    if isinstance(g, T.Bin) and g.op in ("==", "!=", "subseteq"):
        return is_wide(g.left.ty) or is_wide(g.right.ty)
    if isinstance(g, T.BitTest):
        return is_wide(g.bitmap.ty)
    if isinstance(g, T.Builtin) and g.func in ("popcount", "lowest", "highest"):
        return is_wide(g.args[0].ty)
    return False


def emit(gen: Emitter, g: G) -> str:  # noqa: C901 - one case per node type
    """The code of a node `handles` accepts."""
    if isinstance(g, T.Lit):
        return gen.const(int(g.value), width(g.ty))  # type: ignore[call-overload]
    if isinstance(g, Select):
        ix = gen.fresh(f"np.expand_dims({gen.x(g.index)}, -1)")  # the index as a column
        n = len(g.options)
        gen.errs.append(f"(({ix}[..., 0]) < {g.lo}) | (({ix}[..., 0]) > {g.lo + n - 1})")
        w = width(g.ty)
        out = _operand(gen, g.options[-1], w)
        for k in range(n - 2, -1, -1):
            out = f"np.where({ix} == {g.lo + k}, {_operand(gen, g.options[k], w)}, {out})"
        return out
    if isinstance(g, T.IteE):
        w = width(g.ty)
        c = f"np.expand_dims({gen.x(g.cond)}, -1)"
        return f"np.where({c}, {_operand(gen, g.then, w)}, {_operand(gen, g.other, w)})"
    if isinstance(g, T.Un) and g.op == "~":
        w = width(g.ty)
        return f"({_operand(gen, g.operand, w)} ^ {gen.const((1 << w) - 1, w)})"
    if isinstance(g, T.Bin):
        w = width(g.left.ty if is_wide(g.left.ty) else g.right.ty)
        a, b = _operand(gen, g.left, w), _operand(gen, g.right, w)
        if g.op in ("&", "|"):
            return f"({a} {g.op} {b})"
        if g.op == "==":
            return f"np.all({a} == {b}, axis=-1)"
        if g.op == "!=":
            return f"np.any({a} != {b}, axis=-1)"
        if g.op == "subseteq":
            return f"np.logical_not(np.any({a} & ~{b}, axis=-1))"
    if isinstance(g, T.SetOf):
        return _set(gen, g)
    if isinstance(g, T.BitTest):
        w = width(g.bitmap.ty)
        m = _operand(gen, g.bitmap, w)
        if isinstance(g.index, T.Lit):
            k = int(g.index.value)  # type: ignore[call-overload]
            if not 0 <= k < w:  # an error wherever it is evaluated: the single-state path reports it
                gen.errs.append("True")
                return "False"
            return f"((({m})[..., {k >> 6}] >> np.uint64({k & 63})) & np.uint64(1) != 0)"
        i = gen.fresh(gen.x(g.index))
        gen.errs.append(f"(({i}) < 0) | (({i}) > {w - 1})")
        return f"_wtest({m}, np.clip({i}, 0, {w - 1}))"
    if isinstance(g, T.Builtin):
        if g.func == "lowbits":
            w = width(g.ty)
            kv = gen.fresh(gen.x(g.args[0]))
            gen.errs.append(f"(({kv}) < 0) | (({kv}) > {w})")
            return f"_wlowbits(np.clip({kv}, 0, {w}), {limbs(w)})"
        w = width(g.args[0].ty)
        m = _operand(gen, g.args[0], w)
        if g.func == "popcount":
            return f"_wpopcount({m})"
        if g.func == "lowest":
            return f"_wlowest({m}, {w})"
        if g.func == "highest":
            return f"_whighest({m})"
    raise Unsupported(f"{type(g).__name__} over bitmaps wider than {NARROW} bits")


def _operand(gen: Emitter, g: G, w: int) -> str:
    """A w-bit bitmap operand as limbs (a folded constant of another width, e.g. `{}`, too)."""
    if isinstance(g, T.Lit):
        return gen.const(int(g.value), w)  # type: ignore[call-overload]
    if not is_wide(g.ty) or width(g.ty) != w:
        raise Unsupported(f"a bitmap of type {g.ty} where bitmap({w}) is expected")
    return gen.x(g)


def _set(gen: Emitter, g: T.SetOf) -> str:
    w = width(g.ty)
    known = 0  # the bits of the literal elements, one constant
    parts = []
    for el in g.elems:
        if isinstance(el, T.Lit) and 0 <= int(el.value) < w:  # type: ignore[call-overload]
            known |= 1 << int(el.value)  # type: ignore[call-overload]
        elif isinstance(el, T.Lit):  # a bit past the width: an error wherever it is evaluated
            gen.errs.append("True")
        else:
            i = gen.fresh(gen.x(el))
            gen.errs.append(f"(({i}) < 0) | (({i}) > {w - 1})")
            parts.append(f"_wbit(np.clip({i}, 0, {w - 1}), {limbs(w)})")
    if known or not parts:
        parts.append(gen.const(known, w))
    return "(" + " | ".join(parts) + ")" if len(parts) > 1 else parts[0]


# ---- between the state words and the limbs
def decode_field(offset: int, w: int) -> str:
    """The code of a w-bit field at bit `offset` of the words W0, W1, ... as (n, L) limbs."""
    cols = []
    for k in range(limbs(w)):
        bits = min(64, w - 64 * k)
        j, r = divmod(offset + 64 * k, 64)
        col = f"(W{j} >> np.uint64({r}))" if r else f"W{j}"
        if r + bits > 64:  # the limb straddles two words
            col = f"({col} | (W{j + 1} << np.uint64({64 - r})))"
        if bits < 64:
            col = f"({col} & np.uint64({(1 << bits) - 1}))"
        cols.append(col)
    return f"np.stack([{', '.join(cols)}], axis=1)"


def field_pieces(offset: int, w: int, name: str) -> list[tuple[int, int, str]]:
    """A wide field's new value `name` (an (n, L) array) as (bit offset, width, uint64 code)
    pieces, one per limb, for the word writes."""
    return [(offset + 64 * k, min(64, w - 64 * k), f"{name}[:, {k}]") for k in range(limbs(w))]


# ---- runtime helpers of the generated code (indices already clipped into range)
def _rows(m: Any, n: int) -> Any:
    """A wide value as n rows (a constant or a scalar-made value is one row); read-only."""
    m = np.asarray(m)
    return m if m.shape == (n, m.shape[-1]) else np.broadcast_to(m, (n, m.shape[-1]))


def _wbit(i: Any, n_limbs: int) -> Any:
    """Per lane the bitmap {i}."""
    i = np.asarray(i, dtype=np.int64)
    out = np.zeros((*i.shape, n_limbs), dtype=np.uint64)
    bit = np.left_shift(np.uint64(1), (i & 63).astype(np.uint64))
    np.put_along_axis(out, (i >> 6)[..., None], bit[..., None], axis=-1)
    return out


def _wtest(m: Any, i: Any) -> Any:
    """Per lane bit i of m."""
    i = np.asarray(i, dtype=np.int64)
    m = np.asarray(m)
    q, sh = i >> 6, (i & 63).astype(np.uint64)
    if i.ndim == 0:
        limb = m[..., int(q)]
    elif m.ndim == 1:  # a constant bitmap, a lane's index
        limb = m[q]
    else:
        limb = m[np.arange(m.shape[0]), q]
    return ((limb >> sh) & np.uint64(1)) != 0


def _wpopcount(m: Any) -> Any:
    return np.bitwise_count(np.asarray(m, dtype=np.uint64)).sum(axis=-1, dtype=np.int64)


def _wlowest(m: Any, w: int) -> Any:
    """Per lane the lowest member's index, w for an empty bitmap."""
    m = np.atleast_2d(np.asarray(m, dtype=np.uint64))
    nz = m != 0
    first = nz.argmax(axis=1)
    limb = m[np.arange(m.shape[0]), first]
    low = np.bitwise_count((limb & (~limb + np.uint64(1))) - np.uint64(1)).astype(np.int64)
    return np.where(nz.any(axis=1), first * 64 + low, w)


def _whighest(m: Any) -> Any:
    """Per lane the highest member's index, -1 for an empty bitmap (the top bit smeared down)."""
    m = np.atleast_2d(np.asarray(m, dtype=np.uint64))
    nz = m != 0
    last = m.shape[1] - 1 - nz[:, ::-1].argmax(axis=1)
    limb = m[np.arange(m.shape[0]), last]
    for sh in (1, 2, 4, 8, 16, 32):
        limb = limb | (limb >> np.uint64(sh))
    return np.where(nz.any(axis=1), last * 64 + np.bitwise_count(limb).astype(np.int64) - 1, -1)


def _wlowbits(k: Any, n_limbs: int) -> Any:
    """Per lane the bitmap {0, ..., k-1}."""
    k = np.asarray(k, dtype=np.int64)[..., None]
    bits = np.clip(k - 64 * np.arange(n_limbs), 0, 64)  # set bits per limb
    part = np.left_shift(np.uint64(1), np.minimum(bits, 63).astype(np.uint64)) - np.uint64(1)
    return np.where(bits >= 64, np.uint64(FULL), part)


HELPERS: dict[str, Any] = {
    "_rows": _rows,
    "_wbit": _wbit,
    "_wtest": _wtest,
    "_wpopcount": _wpopcount,
    "_wlowest": _wlowest,
    "_whighest": _whighest,
    "_wlowbits": _wlowbits,
}
