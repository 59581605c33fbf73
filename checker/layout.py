"""The packed state layout: every leaf of the state gets a bit field of one integer."""

from __future__ import annotations

from dataclasses import dataclass

from model import typed as T
from model.domains import ArrayT, BitmapT, BoolT, EnumT, IntT, Type
from model.ground import Field, leaf_name, leaves


@dataclass(frozen=True)
class Slot:
    field: Field
    name: str  # as a person writes it: dev[1]
    offset: int
    width: int
    lo: int  # stored value = value - lo (ranges); 0 otherwise


def field_width(t: Type) -> int:
    if isinstance(t, BoolT):
        return 1
    if isinstance(t, IntT):
        return (t.hi - t.lo).bit_length()
    if isinstance(t, EnumT):
        return (len(t.members) - 1).bit_length()
    if isinstance(t, BitmapT):
        return t.width or 0
    raise TypeError(t)


class Layout:
    """Leaf order and bit offsets; pack/unpack between leaf maps and integers."""

    def __init__(self, model: T.Model) -> None:
        self.model = model
        self.slots: list[Slot] = []
        off = 0
        for f in leaves(model):
            w = field_width(f.ty)
            lo = f.ty.lo if isinstance(f.ty, IntT) else 0
            self.slots.append(Slot(f, leaf_name(model, f), off, w, lo))
            off += w
        self.bits = off
        self.index = {s.field.key: i for i, s in enumerate(self.slots)}

    def pack(self, leafmap: dict[tuple[str, tuple[int, ...]], object]) -> int:
        s = 0
        for sl in self.slots:
            v = int(leafmap[sl.field.key]) - sl.lo  # type: ignore[call-overload]
            s |= v << sl.offset
        return s

    def unpack(self, s: int) -> dict[tuple[str, tuple[int, ...]], object]:
        out: dict[tuple[str, tuple[int, ...]], object] = {}
        for sl in self.slots:
            v = ((s >> sl.offset) & ((1 << sl.width) - 1)) + sl.lo
            out[sl.field.key] = bool(v) if isinstance(sl.field.ty, BoolT) else v
        return out

    def values(self, leafmap: dict[tuple[str, tuple[int, ...]], object]) -> dict[str, object]:
        """Leaf map to {var: value} with arrays as nested tuples (model values)."""
        out: dict[str, object] = {}
        for v in self.model.vars:
            out[v.name] = _build(v.name, v.ty, (), leafmap)
        return out


def _build(name: str, ty: Type, path: tuple[int, ...], leafmap: dict[tuple[str, tuple[int, ...]], object]) -> object:
    if isinstance(ty, ArrayT):
        from model.domains import size

        return tuple(_build(name, ty.elem, path + (i,), leafmap) for i in range(size(ty.index)))
    return leafmap[(name, path)]
