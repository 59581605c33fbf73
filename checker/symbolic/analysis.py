"""Cheap questions about ground trees that the provers ask before encoding anything."""

from __future__ import annotations

from typing import Any

from model import typed as T
from model.domains import BoolT, EnumT, IntT
from model.ground import Field, G, GFail, GSet, Select, Tmp
from model.walk import within as _within


def may_fail(g: Any) -> bool:
    """Could evaluating this ground expression / statement list fail at run time? A cheap
    over-approximation of where the encoder emits failure conditions (see `Encoder._ex`),
    so provers skip instances that cannot fail without encoding them."""
    stack = [g]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, GFail):
            return True
        elif isinstance(x, GSet):
            t = x.field.ty
            if isinstance(t, IntT) and not _within(x.value.ty, t.lo, t.hi):
                return True
            stack.append(x.value)
        elif isinstance(x, Select) and not isinstance(x.index.ty, (BoolT, EnumT)):
            if not _within(x.index.ty, x.lo, x.lo + len(x.options) - 1):
                return True
            stack += [x.options, x.index]
        elif isinstance(x, T.Bin) and x.op in ("/", "%", "<<", ">>"):
            return True
        elif isinstance(x, (T.SetOf, T.BitTest)) or (isinstance(x, T.Builtin) and x.func == "lowbits"):
            if any(not isinstance(a, T.Lit) for a in _indices(x)):
                return True
            stack.append([getattr(x, n) for n in x.__dataclass_fields__ if n not in ("ty", "span")])
        elif hasattr(x, "__dataclass_fields__") and not isinstance(x, (T.Lit, Tmp, Field)):
            stack.append([getattr(x, n) for n in x.__dataclass_fields__ if n not in ("ty", "span")])
    return False


def _indices(x: Any) -> list[G]:
    if isinstance(x, T.SetOf):
        return list(x.elems)
    if isinstance(x, T.BitTest):
        return [x.index]
    return list(x.args)
