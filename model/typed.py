"""The typed model: names resolved, constants bound, every expression typed.

One typed model exists per (spec, configuration). Engines do not read these trees
directly; they read the ground form (model.ground), where parameters are instantiated,
quantifiers unrolled and lets inlined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .domains import ArrayT, BoolT, EnumT, IntT, Type
from .errors import NOWHERE, Span


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)  # type: ignore[no-any-return]


# ---- expressions (each has .ty)
@dataclass(frozen=True)
class Lit:
    value: object
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class VarRef:
    name: str
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class Local:
    """An action parameter, a quantifier binder, a let parameter or a local let."""

    name: str
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    base: Expr
    index: Expr
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class BitTest:
    bitmap: Expr
    index: Expr
    ty: Type = BoolT()
    span: Span = _span()


@dataclass(frozen=True)
class Un:
    op: str  # "-", "~", "not"
    operand: Expr
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class Bin:
    """Binary operators. Arithmetic: + - * / % << >>; comparison: == != < <= > >=;
    logic: and or implies; bitmaps: & | subseteq (and == !=)."""

    op: str
    left: Expr
    right: Expr
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class Member:
    """`e in {a, b, ...}` for enums, integers and booleans."""

    elem: Expr
    options: tuple[Expr, ...]
    ty: Type = BoolT()
    span: Span = _span()


@dataclass(frozen=True)
class SetOf:
    """A bitmap literal `{i, j}` whose elements may be expressions."""

    elems: tuple[Expr, ...]
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class IteE:
    cond: Expr
    then: Expr
    other: Expr
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class Builtin:
    """min, max, popcount, lowbits, lowest, highest."""

    func: str
    args: tuple[Expr, ...]
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class LetRef:
    name: str
    args: tuple[Expr, ...]
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class QuantE:
    kind: str  # forall, exists, count, sum
    binders: tuple[tuple[str, Type], ...]
    body: Expr
    ty: Type
    span: Span = _span()


Expr = Lit | VarRef | Local | Index | BitTest | Un | Bin | Member | SetOf | IteE | Builtin | LetRef | QuantE


# ---- statements
@dataclass(frozen=True)
class AssignT:
    """`var[i][j] := value`; when `bit` is set, the target is bit `bit` of that bitmap."""

    var: str
    path: tuple[Expr, ...]
    bit: Expr | None
    value: Expr
    target_ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class LetT:
    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class IfT:
    cond: Expr
    then: tuple[Stmt, ...]
    other: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ForT:
    var: str
    ty: IntT | EnumT | BoolT
    body: tuple[Stmt, ...]
    span: Span = _span()


Stmt = AssignT | LetT | IfT | ForT


# ---- declarations
@dataclass(frozen=True)
class VarT:
    name: str
    ty: Type
    init: Expr | None  # None with any_init False: the type's default
    any_init: bool
    span: Span = _span()


@dataclass(frozen=True)
class LetDef:
    name: str
    params: tuple[tuple[str, Type], ...]
    body: Expr
    ty: Type
    span: Span = _span()


@dataclass(frozen=True)
class ActionT:
    name: str
    params: tuple[tuple[str, IntT | EnumT | BoolT], ...]
    guard: Expr
    body: tuple[Stmt, ...]
    fairness: str  # "", "weak", "strong"
    span: Span = _span()


@dataclass(frozen=True)
class PropT:
    """A property to check. kind: invariant, reachable, or a temporal kind
    (always, eventually, always_eventually, eventually_always, leadsto)."""

    name: str
    kind: str
    expr: Expr
    goal: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class ConfigT:
    name: str  # "default" for the file's own constants
    values: dict[str, int]
    engines: tuple[str, ...]  # which engines it is meant for: explicit and/or symbolic
    benchmark: bool
    span: Span = _span()


@dataclass
class Model:
    name: str
    title: str
    path: str
    source: str
    config: ConfigT
    consts: dict[str, int]
    enums: dict[str, EnumT]
    vars: list[VarT]
    lets: dict[str, LetDef]
    actions: list[ActionT]
    properties: list[PropT]
    allow_deadlock: bool = False
    expects: dict[str, str] = field(default_factory=dict)  # property -> "violated" / "holds"
    sources: dict[str, str] = field(default_factory=dict)  # file -> text (extends chains)

    def var(self, name: str) -> VarT:
        for v in self.vars:
            if v.name == name:
                return v
        raise KeyError(name)

    @property
    def invariants(self) -> list[PropT]:
        return [p for p in self.properties if p.kind == "invariant"]

    @property
    def reachables(self) -> list[PropT]:
        return [p for p in self.properties if p.kind == "reachable"]

    @property
    def temporal(self) -> list[PropT]:
        return [p for p in self.properties if p.kind not in ("invariant", "reachable")]


IndexT = IntT | EnumT | BoolT


def is_index_type(t: Type) -> bool:
    return isinstance(t, (IntT, EnumT, BoolT)) and (not isinstance(t, IntT) or t.bounded)


__all__ = ["ArrayT"]
