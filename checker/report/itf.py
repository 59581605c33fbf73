"""Traces in the Informal Trace Format (ITF, the Apalache trace format): a JSON document with
`#meta`, `vars`, `states` and an optional `loop`. Integers are `{"#bigint": "n"}`, bitmaps
`{"#set": [...]}`, arrays `{"#map": [[index, value], ...]}`; enum members are strings. Each
state's `#meta` names the action instance that led to it. Reading also accepts plain JSON
numbers, lists for bitmaps and `{"#tup": [...]}` or lists for arrays (index order), which is
what a recorder attached to a real driver most easily writes."""

from __future__ import annotations

import json
from typing import Any

from model import typed as T
from model.domains import ArrayT, BitmapT, BoolT, EnumT, IntT, Type, index_label

from ..results import Step, Trace

FORMAT_URL = "https://apalache-mc.org/docs/adr/015adr-trace.html"


class ITFError(ValueError):
    """An ITF document that does not fit the spec it is read against."""


def _int(v: int) -> dict[str, str]:
    return {"#bigint": str(int(v))}


def encode(t: Type, j: Any) -> Any:
    """A JSON trace value (as in `--json` traces) to its ITF encoding."""
    if isinstance(t, BoolT):
        return bool(j)
    if isinstance(t, EnumT):
        return j if isinstance(j, str) else t.members[int(j)]
    if isinstance(t, BitmapT):
        return {"#set": [_int(i) for i in j]}
    if isinstance(t, ArrayT):
        return {"#map": [[_key(t.index, i), encode(t.elem, x)] for i, x in enumerate(j)]}
    return _int(j)


def _key(t: Type, pos: int) -> Any:
    if isinstance(t, IntT):
        return _int(t.lo + pos)
    if isinstance(t, BoolT):
        return bool(pos)
    return index_label(t, pos)  # type: ignore[arg-type]


def _plain_int(v: Any, what: str) -> int:
    if isinstance(v, dict) and set(v) == {"#bigint"}:
        try:
            return int(v["#bigint"])
        except (TypeError, ValueError):
            raise ITFError(f"{what}: bad #bigint {v['#bigint']!r}") from None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise ITFError(f"{what}: expected an integer, got {v!r}")


def decode(t: Type, v: Any, what: str) -> Any:
    """An ITF value to the JSON trace value of type t (the inverse of encode)."""
    if isinstance(t, BoolT):
        if not isinstance(v, bool):
            raise ITFError(f"{what}: expected true or false, got {v!r}")
        return v
    if isinstance(t, EnumT):
        if isinstance(v, str) and v in t.members:
            return v
        raise ITFError(f"{what}: expected one of {', '.join(t.members)}, got {v!r}")
    if isinstance(t, BitmapT):
        items = v["#set"] if isinstance(v, dict) and "#set" in v else v
        if not isinstance(items, list):
            raise ITFError(f"{what}: expected a #set of bit numbers, got {v!r}")
        bits = sorted({_plain_int(x, what) for x in items})
        bad = [b for b in bits if not 0 <= b < (t.width or 0)]
        if bad:
            raise ITFError(f"{what}: bit {bad[0]} is out of 0..{(t.width or 1) - 1}")
        return bits
    if isinstance(t, ArrayT):
        return _decode_array(t, v, what)
    # an integer outside its range is read as it is: replay then names the step that made it
    # (a range violation's trace ends in such a state)
    return _plain_int(v, what)


def _decode_array(t: ArrayT, v: Any, what: str) -> list[Any]:
    from model.domains import size

    n = size(t.index)
    if isinstance(v, dict) and "#map" in v:
        out: list[Any] = [None] * n
        for pair in v["#map"]:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ITFError(f"{what}: a #map entry must be [key, value], got {pair!r}")
            pos = _key_pos(t.index, pair[0], what)
            out[pos] = decode(t.elem, pair[1], f"{what}[{index_label(t.index, pos)}]")  # type: ignore[arg-type]
        missing = [index_label(t.index, i) for i, x in enumerate(out) if x is None]  # type: ignore[arg-type]
        if missing:
            raise ITFError(f"{what}: no value for index {missing[0]}")
        return out
    elems = v["#tup"] if isinstance(v, dict) and "#tup" in v else v
    if not isinstance(elems, list) or len(elems) != n:
        raise ITFError(f"{what}: expected a #map or a list of {n} elements, got {v!r}")
    return [decode(t.elem, x, f"{what}[{index_label(t.index, i)}]") for i, x in enumerate(elems)]  # type: ignore[arg-type]


def _key_pos(t: Type, k: Any, what: str) -> int:
    if isinstance(t, BoolT) and isinstance(k, bool):
        return int(k)
    if isinstance(t, EnumT) and isinstance(k, str) and k in t.members:
        return t.members.index(k)
    if isinstance(t, IntT):
        n = _plain_int(k, what)
        if t.lo <= n <= t.hi:
            return n - t.lo
    shown = k["#bigint"] if isinstance(k, dict) and "#bigint" in k else json.dumps(k)
    raise ITFError(f"{what}: index {shown} is not in {t}")


def to_itf(model: T.Model, trace: Trace, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """A trace as an ITF document; `meta` adds to the top-level #meta."""
    types = {v.name: v.ty for v in model.vars}
    params = {a.name: dict(a.params) for a in model.actions}
    states = []
    for i, st in enumerate(trace.steps):
        m: dict[str, Any] = {"index": i}
        if st.action is not None:
            m["action"] = st.action
            m["args"] = {k: encode(params[st.action][k], v) for k, v in st.args.items()}
            m["label"] = st.label
        states.append({"#meta": m, **{name: encode(types[name], val) for name, val in st.state.items()}})
    doc: dict[str, Any] = {
        "#meta": {
            "format": "ITF",
            "format-description": FORMAT_URL,
            "source": model.path,
            "varTypes": {v.name: str(v.ty) for v in model.vars},
            **(meta or {}),
        },
        "vars": [v.name for v in model.vars],
        "states": states,
    }
    if trace.loop is not None:
        doc["loop"] = trace.loop
    return doc


def from_itf(model: T.Model, doc: Any) -> Trace:
    """Read an ITF document against a model: every state must give every variable a value
    of its type. A state's #meta `action`/`args` name the step; without them the step's
    action is left None (replay then searches for one)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("states"), list):
        raise ITFError("not an ITF trace: expected an object with a `states` list")
    types = {v.name: v.ty for v in model.vars}
    names = doc.get("vars", list(types))
    unknown = [n for n in names if n not in types]
    if unknown:
        raise ITFError(f"variable `{unknown[0]}` is not in the spec (variables: {', '.join(types)})")
    params = {a.name: dict(a.params) for a in model.actions}
    steps = []
    for i, st in enumerate(doc["states"]):
        if not isinstance(st, dict):
            raise ITFError(f"state {i}: expected an object")
        missing = [n for n in types if n not in st]
        if missing:
            raise ITFError(f"state {i}: no value for variable `{missing[0]}`")
        state = {n: decode(ty, st[n], f"state {i}: `{n}`") for n, ty in types.items()}
        meta = st.get("#meta") or {}
        action = meta.get("action") if isinstance(meta, dict) else None
        args: dict[str, Any] = {}
        if action is not None and i > 0:
            if action not in params:
                raise ITFError(f"state {i}: no action `{action}` in the spec")
            raw = meta.get("args") or {}
            if not isinstance(raw, dict):
                raise ITFError(f"state {i}: `args` must be an object")
            for k, ty in params[action].items():
                if k not in raw:
                    raise ITFError(f"state {i}: action `{action}` needs argument `{k}`")
                args[k] = decode(ty, raw[k], f"state {i}: argument `{k}`")
            extra = [k for k in raw if k not in params[action]]
            if extra:
                raise ITFError(f"state {i}: action `{action}` has no parameter `{extra[0]}`")
        steps.append(Step(action if i > 0 else None, args, state))
    if not steps:
        raise ITFError("the trace has no states")
    loop = doc.get("loop")
    if loop is not None and (isinstance(loop, bool) or not isinstance(loop, int) or not 0 <= loop < len(steps)):
        raise ITFError(f"`loop` must be a state index in 0..{len(steps) - 1}, got {loop!r}")
    return Trace(steps, loop)
