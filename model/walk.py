"""Walking ground trees: which state leaves an expression or a body reads and writes, the
conjuncts of a guard, whether a value's interval fits a range. Shared by the code
generator and the symbolic encoder."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import typed as T
from .domains import BitmapT, BoolT, EnumT, IntT, Type
from .ground_nodes import Field, G, GFail, GIf, GSet, GStmt, NAry, Select, Tmp

Key = tuple[str, tuple[int, ...]]


def within(t: Type, lo: int, hi: int) -> bool:
    """Is every value of the integer type t inside lo..hi?"""
    return isinstance(t, IntT) and lo <= t.lo and t.hi <= hi


def reads(g: Any, acc: set[Key] | None = None) -> set[Key]:
    """The leaves an expression or statement list reads or writes."""
    out: set[Key] = set() if acc is None else acc
    stack = [g]
    while stack:
        x = stack.pop()
        cls = type(x)
        if cls is Field or (cls not in _CHILDREN and isinstance(x, Field)):
            out.add(x.key)
        elif cls is list or cls is tuple:
            stack.extend(x)
        else:
            names = _CHILDREN.get(cls)
            if names is None:
                names = _children(cls)
            for name in names:
                stack.append(getattr(x, name))
    return out


# node class -> the fields that hold subtrees: every code generator walks every instance's
# tree a few times, and reflecting on the dataclass at each node was most of that time
_CHILDREN: dict[type, tuple[str, ...]] = {}


def _children(cls: type) -> tuple[str, ...]:
    fields = getattr(cls, "__dataclass_fields__", None)
    if fields is None or issubclass(cls, (T.Lit, Tmp)):
        names: tuple[str, ...] = ()
    else:
        names = tuple(n for n in fields if n not in ("ty", "span"))
    _CHILDREN[cls] = names
    return names


def uses_tmp(g: Any) -> bool:
    """Does an expression read an action-local `let` (a value of the body, not of the state)?"""
    stack = [g]
    while stack:
        x = stack.pop()
        if isinstance(x, Tmp):
            return True
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif hasattr(x, "__dataclass_fields__") and not isinstance(x, (T.Lit, Field)):
            stack += [getattr(x, n) for n in x.__dataclass_fields__ if n not in ("ty", "span")]
    return False


def writes(ss: Iterable[GStmt], acc: list[Key] | None = None) -> list[Key]:
    """The leaves a statement list assigns, in first-assignment order."""
    out: list[Key] = [] if acc is None else acc
    seen = set(out)  # a write chain over a big array assigns every element: no list scans
    stack: list[Any] = [iter(ss)]
    while stack:
        s = next(stack[-1], None)
        if s is None:
            stack.pop()
        elif isinstance(s, GSet):
            if s.field.key not in seen:
                seen.add(s.field.key)
                out.append(s.field.key)
        elif isinstance(s, GIf):
            stack.append(iter(s.other))
            stack.append(iter(s.then))
    return out


def conjuncts(g: G) -> list[G]:
    """The top-level conjuncts of a ground condition."""
    return list(g.args) if isinstance(g, NAry) and g.op == "and" else [g]


def may_fail(g: Any) -> bool:
    """Could evaluating this ground expression / statement list fail at run time? A cheap
    over-approximation of the reference semantics' EvalError: the code generator makes array
    reads lazy only where an option may fail, and the provers skip instances that cannot fail."""
    stack = [g]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, GFail):
            return True
        elif isinstance(x, GSet):
            t = x.field.ty
            if isinstance(t, IntT) and not within(x.value.ty, t.lo, t.hi):
                return True
            stack.append(x.value)
        elif isinstance(x, Select) and not isinstance(x.index.ty, (BoolT, EnumT)):
            if not within(x.index.ty, x.lo, x.lo + len(x.options) - 1):
                return True
            stack += [x.options, x.index]
        elif isinstance(x, T.Bin) and x.op in ("/", "%", "<<", ">>"):
            return True
        elif isinstance(x, (T.SetOf, T.BitTest)) or (isinstance(x, T.Builtin) and x.func == "lowbits"):
            if not _indices_fit(x):
                return True
            stack.append([getattr(x, n) for n in x.__dataclass_fields__ if n not in ("ty", "span")])
        elif hasattr(x, "__dataclass_fields__") and not isinstance(x, (T.Lit, Tmp, Field)):
            stack.append([getattr(x, n) for n in x.__dataclass_fields__ if n not in ("ty", "span")])
    return False


def _indices_fit(x: Any) -> bool:
    """Are the bit indices (or the lowbits count) of x constants inside the bitmap's width?"""
    if isinstance(x, T.SetOf):
        bitmap, top, idx = x.ty, 0, list(x.elems)
    elif isinstance(x, T.BitTest):
        bitmap, top, idx = x.bitmap.ty, 0, [x.index]
    else:
        bitmap, top, idx = x.ty, 1, list(x.args)
    if not isinstance(bitmap, BitmapT) or bitmap.width is None:
        return False
    w = bitmap.width
    return all(isinstance(a, T.Lit) and isinstance(a.value, int) and 0 <= a.value < w + top for a in idx)
