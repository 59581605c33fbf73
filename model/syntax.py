"""The abstract syntax tree of a spec, exactly as written (before names and types are resolved).

Every node carries its source span; spans are excluded from equality so that tests can
compare trees built by hand with parsed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import NOWHERE, Span


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)  # type: ignore[no-any-return]


# ---- expressions
@dataclass(frozen=True)
class IntLit:
    value: int
    span: Span = _span()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    base: Expr
    index: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Unop:
    op: str
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binop:
    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class SetLit:
    elems: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Ite:
    cond: Expr
    then: Expr
    other: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binder:
    name: str
    type: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class Quant:
    """forall / exists / count / sum over the binders' finite domains."""

    kind: str
    binders: tuple[Binder, ...]
    body: Expr
    span: Span = _span()


Expr = IntLit | BoolLit | Name | Call | Index | Unop | Binop | SetLit | Ite | Quant


# ---- types as written
@dataclass(frozen=True)
class BoolType:
    span: Span = _span()


@dataclass(frozen=True)
class RangeType:
    lo: Expr
    hi: Expr
    span: Span = _span()


@dataclass(frozen=True)
class NamedType:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class BitmapType:
    width: Expr
    span: Span = _span()


@dataclass(frozen=True)
class ArrayType:
    index: TypeExpr
    elem: TypeExpr
    span: Span = _span()


TypeExpr = BoolType | RangeType | NamedType | BitmapType | ArrayType


# ---- statements
@dataclass(frozen=True)
class Assign:
    target: str
    indices: tuple[Expr, ...]
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class LocalLet:
    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    other: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class For:
    var: str
    type: TypeExpr
    body: tuple[Stmt, ...]
    span: Span = _span()


Stmt = Assign | LocalLet | If | For


# ---- declarations
@dataclass(frozen=True)
class Param:
    name: str
    type: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class ProtocolDecl:
    name: str
    title: str
    span: Span = _span()


@dataclass(frozen=True)
class ExtendsDecl:
    path: str
    span: Span = _span()


@dataclass(frozen=True)
class ConstDecl:
    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class EnumDecl:
    name: str
    members: tuple[str, ...]
    member_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class TypeDecl:
    name: str
    type: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class VarDecl:
    name: str
    type: TypeExpr
    init: Expr | None  # None: the type's default value
    any_init: bool = False  # `= any`: every value of the type is an initial value
    span: Span = _span()


@dataclass(frozen=True)
class LetDecl:
    name: str
    params: tuple[Param, ...]
    body: Expr
    span: Span = _span()
    type: TypeExpr | None = None  # `let f(..) : bitmap(S) = ...`: the declared result type


@dataclass(frozen=True)
class ActionDecl:
    name: str
    params: tuple[Param, ...]
    guard: Expr | None
    body: tuple[Stmt, ...]
    fairness: str = ""  # "", "weak", "strong", or "unfair" (written out: none)
    span: Span = _span()
    new_params: bool = False  # `with new parameters`: a replacement that changes them on purpose


@dataclass(frozen=True)
class InvariantDecl:
    name: str
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class PropertyDecl:
    """A temporal property: kind is always, eventually, always_eventually,
    eventually_always or leadsto (then `expr` leads to `goal`)."""

    name: str
    kind: str
    expr: Expr
    goal: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True)
class ReachableDecl:
    name: str
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Setting:
    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class ConfigDecl:
    name: str
    modifiers: tuple[str, ...]
    settings: tuple[Setting, ...]
    modifier_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class AllowDecl:
    what: str
    span: Span = _span()


@dataclass(frozen=True)
class ExpectDecl:
    verdict: str
    prop: str
    span: Span = _span()


@dataclass(frozen=True)
class ReplaceDecl:
    decl: ActionDecl | LetDecl | ConstDecl | VarDecl | InvariantDecl | PropertyDecl | ReachableDecl
    span: Span = _span()


@dataclass(frozen=True)
class ExtendActionDecl:
    """`extend action NAME when G { before {...} after {...} }`: the parent's action with one
    more guard conjunct and statements around its body, without restating it."""

    name: str
    guard: Expr | None
    before: tuple[Stmt, ...]
    after: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ExtendEnumDecl:
    """`extend enum NAME { MEMBER, ... }`: members added after the parent's."""

    name: str
    members: tuple[str, ...]
    member_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()


Decl = (
    ProtocolDecl
    | ExtendsDecl
    | ConstDecl
    | EnumDecl
    | TypeDecl
    | VarDecl
    | LetDecl
    | ActionDecl
    | InvariantDecl
    | PropertyDecl
    | ReachableDecl
    | ConfigDecl
    | AllowDecl
    | ExpectDecl
    | ReplaceDecl
    | ExtendActionDecl
    | ExtendEnumDecl
)


@dataclass(frozen=True)
class SpecFile:
    path: str
    source: str
    decls: tuple[Decl, ...]
