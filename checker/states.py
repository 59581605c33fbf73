"""Decoding packed states into the JSON values traces show: enum names, bitmaps as the
list of set bits, arrays as lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from model import typed as T
from model.domains import ArrayT, BitmapT, BoolT, EnumT, Type, size
from model.ground import Instance

from .layout import Layout
from .results import Step


def json_value(t: Type, v: Any) -> Any:
    if isinstance(t, EnumT):
        return t.members[int(v)] if 0 <= int(v) < len(t.members) else int(v)
    if isinstance(t, BitmapT):
        return [i for i in range(t.width or 0) if (int(v) >> i) & 1]
    if isinstance(t, BoolT):
        return bool(v)
    if isinstance(t, ArrayT):
        return [json_value(t.elem, x) for x in v]
    return int(v)


def model_value(t: Type, j: Any) -> Any:
    """The inverse of json_value (used by replay and ITF reading)."""
    if isinstance(t, EnumT):
        return t.members.index(j) if isinstance(j, str) else int(j)
    if isinstance(t, BitmapT):
        m = 0
        for i in j:
            m |= 1 << int(i)
        return m
    if isinstance(t, BoolT):
        return bool(j)
    if isinstance(t, ArrayT):
        return tuple(model_value(t.elem, x) for x in j)
    return int(j)


Leaves = dict[tuple[str, tuple[int, ...]], object]


def leaf_map(model: T.Model, state: Mapping[str, Any]) -> Leaves:
    """A JSON state (as in traces) to the leaf map the reference semantics reads."""
    out: Leaves = {}

    def put(name: str, ty: Type, v: Any, path: tuple[int, ...]) -> None:
        if isinstance(ty, ArrayT):
            for i in range(size(ty.index)):
                put(name, ty.elem, v[i], path + (i,))
        else:
            out[(name, path)] = v

    for var in model.vars:
        put(var.name, var.ty, model_value(var.ty, state[var.name]), ())
    return out


def state_json(model: T.Model, layout: Layout, leafmap: dict[tuple[str, tuple[int, ...]], object]) -> dict[str, Any]:
    vals = layout.values(leafmap)
    return {v.name: json_value(v.ty, vals[v.name]) for v in model.vars}


def decode(model: T.Model, layout: Layout, s: int) -> dict[str, Any]:
    return state_json(model, layout, layout.unpack(s))


def arg_json(inst: Instance) -> dict[str, Any]:
    return {n: json_value(t, v) for (n, v), t in zip(inst.args, inst.arg_types, strict=True)}


def step(model: T.Model, layout: Layout, inst: Instance | None, s: int) -> Step:
    if inst is None:
        return Step(None, {}, decode(model, layout, s))
    return Step(inst.action, arg_json(inst), decode(model, layout, s))
