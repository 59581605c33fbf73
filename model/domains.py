"""Types of the typed model. Values: bool, int (ranges and integers), int index (enums),
int bit set (bitmaps), tuple (arrays, in index order)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

INF = 1 << 62  # bounds of an unbounded integer expression


@dataclass(frozen=True)
class BoolT:
    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class IntT:
    """An integer with known bounds (a range type, or an expression's value interval)."""

    lo: int = -INF
    hi: int = INF

    def __str__(self) -> str:
        if self.lo == -INF and self.hi == INF:
            return "int"
        return f"{_b(self.lo)}..{_b(self.hi)}"

    @property
    def bounded(self) -> bool:
        return self.lo > -INF and self.hi < INF


@dataclass(frozen=True)
class EnumT:
    name: str
    members: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class BitmapT:
    """A set of bit indices 0..width-1; width None while inferred from context."""

    width: int | None

    def __str__(self) -> str:
        return f"bitmap({self.width if self.width is not None else '?'})"


@dataclass(frozen=True)
class ArrayT:
    index: IntT | EnumT | BoolT
    elem: Type

    def __str__(self) -> str:
        return f"[{self.index}] {self.elem}"


@dataclass(frozen=True)
class SetT:
    """The type of a set literal of enum members or integers, used with `in`."""

    elem: Type

    def __str__(self) -> str:
        return f"set of {self.elem}"


Type = BoolT | IntT | EnumT | BitmapT | ArrayT | SetT
ScalarT = BoolT | IntT | EnumT | BitmapT


def _b(v: int) -> str:
    return "-inf" if v <= -INF else ("inf" if v >= INF else str(v))


def is_finite(t: Type) -> bool:
    if isinstance(t, IntT):
        return t.bounded
    if isinstance(t, BitmapT):
        return t.width is not None
    if isinstance(t, ArrayT):
        return is_finite(t.index) and is_finite(t.elem)
    return isinstance(t, (BoolT, EnumT))


def size(t: Type) -> int:
    """Number of values of a finite type."""
    if isinstance(t, BoolT):
        return 2
    if isinstance(t, IntT):
        return max(0, t.hi - t.lo + 1)
    if isinstance(t, EnumT):
        return len(t.members)
    if isinstance(t, BitmapT):
        return 1 << (t.width or 0)
    if isinstance(t, ArrayT):
        return size(t.elem) ** size(t.index)
    raise TypeError(t)


def values(t: Type) -> Iterator[object]:
    """The values of a finite type in their canonical order."""
    if isinstance(t, BoolT):
        yield from (False, True)
    elif isinstance(t, IntT):
        yield from range(t.lo, t.hi + 1)
    elif isinstance(t, EnumT):
        yield from range(len(t.members))
    elif isinstance(t, BitmapT):
        yield from range(1 << (t.width or 0))
    elif isinstance(t, ArrayT):
        elems = list(values(t.elem))
        yield from itertools.product(elems, repeat=size(t.index))
    else:
        raise TypeError(t)


def index_values(t: IntT | EnumT | BoolT) -> list[object]:
    return list(values(t))


def default(t: Type) -> object:
    """The initial value of a variable declared without one."""
    if isinstance(t, BoolT):
        return False
    if isinstance(t, IntT):
        return t.lo
    if isinstance(t, (EnumT, BitmapT)):
        return 0
    if isinstance(t, ArrayT):
        return tuple(default(t.elem) for _ in range(size(t.index)))
    raise TypeError(t)


def format_value(t: Type, v: object) -> str:
    """A value as a person reads it: enum names, bitmaps as {0, 2}, arrays as [a, b]."""
    if isinstance(t, EnumT):
        return t.members[int(v)]  # type: ignore[call-overload]
    if isinstance(t, BoolT):
        return "true" if v else "false"
    if isinstance(t, BitmapT):
        bits = [str(i) for i in range(t.width or 0) if (v >> i) & 1]  # type: ignore[operator]
        return "{" + ", ".join(bits) + "}"
    if isinstance(t, ArrayT):
        return "[" + ", ".join(format_value(t.elem, x) for x in v) + "]"  # type: ignore[attr-defined]
    return str(v)


def index_label(t: IntT | EnumT | BoolT, i: int) -> str:
    """The source-level index for position i of an array over t."""
    if isinstance(t, IntT):
        return str(t.lo + i)
    if isinstance(t, EnumT):
        return t.members[i]
    return "true" if i else "false"


def index_pos(t: IntT | EnumT | BoolT, value: object) -> int:
    """Position in the array of the index value (ranges start at lo)."""
    if isinstance(t, IntT):
        return int(value) - t.lo  # type: ignore[call-overload]
    return int(value)  # type: ignore[call-overload]
