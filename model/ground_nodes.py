"""The ground form's nodes: the expression nodes only ground expressions have (state leaves,
dynamic array reads, whole arrays, flattened and/or/+, action-local lets), the ground
statements, and the action instance every trace step names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .domains import BoolT, EnumT, Type
from .errors import NOWHERE, Span


def _nowhere() -> Span:
    # a helper because the GSet field named `field` shadows dataclasses.field in its class body
    return field(default=NOWHERE, compare=False)  # type: ignore[no-any-return]


# ---- ground-only nodes
@dataclass(frozen=True)
class Field:
    """One leaf of the state: variable `var` at array positions `path`."""

    var: str
    path: tuple[int, ...]
    ty: Type

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        return (self.var, self.path)


@dataclass(frozen=True)
class Select:
    """`options[index - lo]`: an array read whose index is only known at run time."""

    options: tuple[G, ...]
    index: G
    lo: int
    ty: Type
    what: str = ""


@dataclass(frozen=True)
class Arr:
    """A whole array value (its elements in index order)."""

    elems: tuple[G, ...]
    ty: Type


@dataclass(frozen=True)
class NAry:
    """and / or / + over many operands (unrolled quantifiers and sums)."""

    op: str
    args: tuple[G, ...]
    ty: Type


@dataclass(frozen=True)
class Tmp:
    """A local `let` inside an action body."""

    name: str
    ty: Type


G = Any  # a ground expression: T.Lit, Field, Select, Arr, NAry, Tmp, T.Un, T.Bin, ...


@dataclass(frozen=True)
class GSet:
    field: Field
    value: G
    span: Span = _nowhere()


@dataclass(frozen=True)
class GLet:
    name: str
    value: G


@dataclass(frozen=True)
class GIf:
    cond: G
    then: tuple[GStmt, ...]
    other: tuple[GStmt, ...]


@dataclass(frozen=True)
class GFail:
    message: str
    span: Span = _nowhere()


GStmt = GSet | GLet | GIf | GFail


@dataclass(frozen=True)
class Instance:
    """One action instance: the unit a trace step names, e.g. `plug_sb(b=1, s=3)`."""

    id: int
    action: str
    args: tuple[tuple[str, object], ...]  # parameter name -> value
    arg_types: tuple[Type, ...]
    guard: G
    body: tuple[GStmt, ...]
    fairness: str

    @property
    def label(self) -> str:
        if not self.args:
            return self.action
        shown = ", ".join(f"{n}={_show(t, v)}" for (n, v), t in zip(self.args, self.arg_types, strict=True))
        return f"{self.action}({shown})"


def _show(t: Type, v: object) -> str:
    if isinstance(t, EnumT):
        return t.members[int(v)]  # type: ignore[call-overload]
    if isinstance(t, BoolT):
        return "true" if v else "false"
    return str(v)
